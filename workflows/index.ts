// The workflow bundle's entry point: every workflow the worker runs.
export { callWorkflow } from './call.js'
