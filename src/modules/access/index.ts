export { AccessService, type Access } from './service.js';
