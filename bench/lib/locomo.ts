/**
 * LoCoMo data (Maharana et al., ACL 2024) and the recall protocol of GUIDE.md §5: how a
 * conversation becomes Sage memories, and which questions are asked.
 *
 * One memory per turn, saved as a conversation pair:
 *   user_prompt        the previous turn of the same session as `Speaker: text` ('' for the first)
 *   assistant_response this turn as `Speaker: text`, plus ` [image: CAPTION]` with a blip_caption
 *   session            `SAMPLE_ID/session_N`
 *   created_at         the session's date and time ("1:56 pm on 8 May, 2023"), read as UTC
 *   project            the conversation's sample_id
 *   metadata           { dia_id }
 * Questions of categories 1-4 with evidence are asked; evidence entries are trimmed, and ones
 * that point at no turn stay in the denominator (counted as missed).
 */
import { z } from 'zod';
import type { Corpus, Dataset, Doc, Query } from './dataset.ts';

const TurnSchema = z.object({
  speaker: z.string(),
  dia_id: z.string(),
  text: z.string(),
  blip_caption: z.string().optional(),
});

const QaSchema = z.object({
  question: z.string(),
  evidence: z.array(z.string()).optional(),
  category: z.number().int(),
});

const SampleSchema = z.object({
  sample_id: z.string().min(1),
  conversation: z.record(z.string(), z.unknown()),
  qa: z.array(QaSchema),
});

export const LocomoSchema = z.array(SampleSchema).min(1);

/** The question categories asked (5, adversarial, has no evidence in the conversation). */
export const CATEGORIES = [
  { key: '1', name: 'multi-hop' },
  { key: '2', name: 'temporal' },
  { key: '3', name: 'open-domain' },
  { key: '4', name: 'single-hop' },
] as const;

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const SESSION_DATE = /^\s*(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$/i;

/** "1:56 pm on 8 May, 2023" → 2023-05-08T13:56:00Z. Throws on anything else. */
export function parseSessionDate(text: string): Date {
  const m = SESSION_DATE.exec(text);
  const month = m ? MONTHS.indexOf(m[5]!.toLowerCase()) : -1;
  if (!m || month < 0) throw new Error(`unrecognised session date-time ${JSON.stringify(text)} (expected e.g. "1:56 pm on 8 May, 2023")`);
  let hour = Number(m[1]) % 12;
  if (m[3]!.toLowerCase() === 'pm') hour += 12;
  const date = new Date(Date.UTC(Number(m[6]), month, Number(m[4]), hour, Number(m[2])));
  if (date.getUTCDate() !== Number(m[4])) throw new Error(`invalid day in session date-time ${JSON.stringify(text)}`);
  return date;
}

type Turn = z.infer<typeof TurnSchema>;

function speakerLine(turn: Turn): string {
  return `${turn.speaker}: ${turn.text}`;
}

function corpusFrom(sample: z.infer<typeof SampleSchema>): { corpus: Corpus; withoutEvidence: number } {
  const sessions = Object.keys(sample.conversation)
    .map((key) => /^session_(\d+)$/.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const docs: Doc[] = [];
  for (const n of sessions) {
    const turns = z.array(TurnSchema).parse(sample.conversation[`session_${n}`]);
    const when = sample.conversation[`session_${n}_date_time`];
    if (typeof when !== 'string') throw new Error(`${sample.sample_id}: session_${n} has no session_${n}_date_time`);
    const createdAt = parseSessionDate(when);
    turns.forEach((turn, i) => {
      const text = speakerLine(turn) + (turn.blip_caption ? ` [image: ${turn.blip_caption}]` : '');
      docs.push({
        key: turn.dia_id.trim(),
        kind: 'turn',
        session: `${sample.sample_id}/session_${n}`,
        userPrompt: i === 0 ? '' : speakerLine(turns[i - 1]!),
        content: text,
        baselineText: text,
        createdAt,
        metadata: { dia_id: turn.dia_id.trim() },
      });
    });
  }
  const queries: Query[] = [];
  let withoutEvidence = 0;
  for (const qa of sample.qa) {
    const group = CATEGORIES.find((c) => c.key === String(qa.category));
    if (!group) continue;
    const evidence = (qa.evidence ?? []).map((e) => e.trim()).filter((e) => e.length > 0);
    if (evidence.length === 0) {
      withoutEvidence++;
      continue;
    }
    queries.push({ text: qa.question, group: group.key, relevant: [...new Set(evidence)] });
  }
  return { corpus: { project: sample.sample_id, docs, queries }, withoutEvidence };
}

/** True when parsed JSON looks like LoCoMo (an array of samples with `conversation`). */
export function isLocomo(json: unknown): boolean {
  return Array.isArray(json) && json.length > 0 && typeof json[0] === 'object' && json[0] !== null && 'conversation' in json[0];
}

export function loadLocomo(json: unknown): Dataset {
  const parsed = LocomoSchema.safeParse(json);
  if (!parsed.success) throw new Error(`not a LoCoMo file: ${z.prettifyError(parsed.error)}`);
  const corpora: Corpus[] = [];
  let skipped = 0;
  for (const sample of parsed.data) {
    const { corpus, withoutEvidence } = corpusFrom(sample);
    corpora.push(corpus);
    skipped += withoutEvidence;
  }
  return { format: 'locomo', groups: [...CATEGORIES], corpora, skippedQueries: skipped };
}
