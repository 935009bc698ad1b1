'use strict';
// CommonJS entry: const LLMRouter = require('llm-runner-router');
module.exports = require('./lib/llmr.cjs');
