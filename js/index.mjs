// ES module entry: import LLMRouter from 'llm-runner-router';
import LLMRouter from './lib/llmr.cjs';

export default LLMRouter;
export const { LLMRStream, version } = LLMRouter;
export { LLMRouter };
