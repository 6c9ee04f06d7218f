/** Every tool Sage offers, in the order clients list them. */
import { forget } from './forget.ts';
import { getContext } from './get_context.ts';
import { getStatus } from './get_status.ts';
import { manageSession } from './manage_session.ts';
import { remember } from './remember.ts';
import { saveConversation, saveConversationShort } from './save_conversation.ts';
import { searchMemory } from './search_memory.ts';
import { updateMemory } from './update_memory.ts';

export const TOOLS = [saveConversation, saveConversationShort, remember, searchMemory, getContext, updateMemory, forget, manageSession, getStatus] as const;
