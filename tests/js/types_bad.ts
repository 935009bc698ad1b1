// Each line below must be a type error: the declarations are precise, not `any`.
import LLMRouter from 'llm-runner-router';
const router = new LLMRouter({ logLevel: 'loud' });
router.stream(42);
router.stream('hi', { maxTokens: '300' });
router.stream('hi', { strategy: 'fastest' });
const n: number = await router.quick('hi');
if (router.stream('hi').status === 'done') router.stream('x').pause(1);
