import type { Catalogues } from '../../web/i18n.ts';
import { en, type MessageKey } from './en.ts';
import { nl } from './nl.ts';

export type { MessageKey } from './en.ts';
export const consoleCatalogues: Catalogues<MessageKey> = { en, nl };
