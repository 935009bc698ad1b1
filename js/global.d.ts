// node --import llm-runner-router/global: LLMRouter as a global.
import LLMRouterClass from './index.js';

declare global {
  // eslint-disable-next-line no-var
  var LLMRouter: typeof LLMRouterClass;
}
export {};
