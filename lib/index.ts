export { RSessionProxyError, isRSessionProxyError, type ErrorCode } from './errors.js';
