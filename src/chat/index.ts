export { openChat } from "./chat-checkpoint.js";
