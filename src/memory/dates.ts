/**
 * Dates named in a query ("on October 13, 2023", "13 Oct 2023", "2023-10-13", "in July 2023",
 * "in June", "in 2023", "yesterday") as time ranges, so that search can prefer memories made
 * then. A memory's created_at is when it was said, and a question about a date usually asks
 * about what was said around it. English month names and ISO dates only; anything not
 * recognised simply adds no range. All ranges are UTC days, months or years; callers allow
 * some slack around them (time zones, "last week" said a few days later).
 */

export interface DateRange {
  from: Date;
  /** Exclusive. */
  to: Date;
  /** A month named without a year matches that month in any year. */
  anyYear: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** Full names and the usual abbreviations ("sept" too); "may" only in full, it is also a verb. */
const MONTH = String.raw`(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?`;
const DAY = String.raw`(\d{1,2})(?:st|nd|rd|th)?`;
const YEAR = String.raw`(\d{4})`;

const PATTERNS: ReadonlyArray<{ re: RegExp; make: (m: RegExpExecArray) => DateRange | undefined }> = [
  { re: new RegExp(String.raw`\b${YEAR}-(\d{2})-(\d{2})\b`, 'gi'), make: (m) => day(+m[1]!, +m[2]! - 1, +m[3]!) },
  { re: new RegExp(String.raw`\b${MONTH}\s+${DAY},?\s+${YEAR}\b`, 'gi'), make: (m) => day(+m[3]!, month(m[1]!), +m[2]!) },
  { re: new RegExp(String.raw`\b${DAY}\s+(?:of\s+)?${MONTH},?\s+${YEAR}\b`, 'gi'), make: (m) => day(+m[3]!, month(m[2]!), +m[1]!) },
  { re: new RegExp(String.raw`\b${YEAR}-(\d{2})\b(?!-)`, 'gi'), make: (m) => monthRange(+m[1]!, +m[2]! - 1) },
  { re: new RegExp(String.raw`\b${MONTH},?\s+(?:of\s+)?${YEAR}\b`, 'gi'), make: (m) => monthRange(+m[2]!, month(m[1]!)) },
  { re: new RegExp(String.raw`\b(?:in|during|since|until|before|after|of|last|this)\s+${MONTH}\b(?!\s*,?\s*(?:of\s+)?\d)`, 'gi'), make: (m) => monthAnyYear(month(m[1]!)) },
  { re: new RegExp(String.raw`\b(?:in|during|of|from|since|until|before|after)\s+${YEAR}\b`, 'gi'), make: (m) => yearRange(+m[1]!) },
];

function month(name: string): number {
  return MONTHS.indexOf(name.toLowerCase().slice(0, 3));
}

function valid(year: number): boolean {
  return year >= 1970 && year <= 2200;
}

function day(year: number, m: number, d: number): DateRange | undefined {
  if (!valid(year) || m < 0 || m > 11 || d < 1 || d > 31) return undefined;
  const from = new Date(Date.UTC(year, m, d));
  if (from.getUTCMonth() !== m) return undefined; // 31 June
  return { from, to: new Date(Date.UTC(year, m, d + 1)), anyYear: false };
}

function monthRange(year: number, m: number): DateRange | undefined {
  if (!valid(year) || m < 0 || m > 11) return undefined;
  return { from: new Date(Date.UTC(year, m, 1)), to: new Date(Date.UTC(year, m + 1, 1)), anyYear: false };
}

function monthAnyYear(m: number): DateRange | undefined {
  if (m < 0) return undefined;
  return { from: new Date(Date.UTC(2000, m, 1)), to: new Date(Date.UTC(2000, m + 1, 1)), anyYear: true };
}

function yearRange(year: number): DateRange | undefined {
  return valid(year) ? { from: new Date(Date.UTC(year, 0, 1)), to: new Date(Date.UTC(year + 1, 0, 1)), anyYear: false } : undefined;
}

const DAY_MS = 86_400_000;

/**
 * The ranges a query names, most specific first; a span of text already read as a day is not
 * read again as a month or a year. `now` anchors "today" and "yesterday".
 */
export function dateRanges(query: string, now: Date = new Date()): DateRange[] {
  const out: DateRange[] = [];
  const taken: Array<[number, number]> = [];
  for (const { re, make } of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(query); m !== null; m = re.exec(query)) {
      const start = m.index;
      const end = start + m[0].length;
      if (taken.some(([a, b]) => start < b && end > a)) continue;
      const range = make(m);
      if (range) {
        out.push(range);
        taken.push([start, end]);
      }
    }
  }
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (/\btoday\b/i.test(query)) out.push({ from: new Date(today), to: new Date(today + DAY_MS), anyYear: false });
  if (/\byesterday\b/i.test(query)) out.push({ from: new Date(today - DAY_MS), to: new Date(today), anyYear: false });
  return out;
}

/**
 * How well a time fits the ranges: 1 inside one, falling linearly to 0 at `slackDays` outside
 * it (best over the ranges); 0 when there are no ranges.
 */
export function dateFit(at: Date, ranges: readonly DateRange[], slackDays: number): number {
  let best = 0;
  for (const r of ranges) {
    const t = at.getTime();
    if (r.anyYear) {
      // Compare within the year of `at` (and its neighbours, for slack across New Year).
      const y = at.getUTCFullYear();
      let fit = 0;
      for (const year of [y - 1, y, y + 1]) {
        const f = Date.UTC(year, r.from.getUTCMonth(), 1);
        const e = Date.UTC(year, r.from.getUTCMonth() + 1, 1);
        fit = Math.max(fit, linear(t, f, e, slackDays));
      }
      best = Math.max(best, fit);
      continue;
    }
    best = Math.max(best, linear(t, r.from.getTime(), r.to.getTime(), slackDays));
  }
  return best;
}

function linear(t: number, from: number, to: number, slackDays: number): number {
  const distance = t < from ? from - t : t >= to ? t - to : 0;
  if (distance === 0) return 1;
  if (slackDays <= 0) return 0;
  return Math.max(0, 1 - distance / (slackDays * DAY_MS));
}
