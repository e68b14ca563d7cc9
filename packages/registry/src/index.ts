export { parseReference, formatReference, type RegistryReference } from './parse-reference.js';
export { RegistryError, type RegistryErrorCode } from './registry-error.js';
