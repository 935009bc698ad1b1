// node --import llm-runner-router/global app.mjs: makes LLMRouter a global, for code written
// as the guide's snippets are (they use LLMRouter without importing it).
import LLMRouter from './index.mjs';

globalThis.LLMRouter = LLMRouter;
