/**
 * Dates named in a query ("on October 13, 2023", "13 Oct 2023", "2023-10-13", "2023/10/13",
 * "in July 2023", "in June", "in 2023", "yesterday", "last week", "3 days ago"; in Chinese
 * "2023年10月13日", "10月13号", "2023年7月", "七月", "2023年", "昨天", "上周", "上个月", "去年",
 * "今年7月", "3天前") as time ranges, so that search can prefer memories made then. A memory's
 * created_at is when it was said, and a question about a date usually asks about what was said
 * around it. Anything not recognised simply adds no range. All ranges are UTC days, weeks
 * (Monday first), months or years; callers allow some slack around them (time zones, "last
 * week" said a few days later).
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

/**
 * A month in Chinese: 1–12 in digits, or 一 … 十二, then 月 (份). The bundle must stay ASCII (build.mjs:
 * a non-ASCII character makes V8 hold the whole source as two-byte), so Chinese is written as
 * \u escapes here; each pattern's comment shows what it reads.
 */
const ZH_MONTH = String.raw`(\d{1,2}|\u5341[\u4e00\u4e8c]?|[\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d])\s*\u6708\u4efd?`;
/** 13日, 13号, 13號. */
const ZH_DAY = String.raw`(\d{1,2})\s*[\u65e5\u53f7\u865f]`;
const ZH_NUMERALS: Readonly<Record<string, number>> = { '\u4e00': 1, '\u4e8c': 2, '\u4e24': 2, '\u5169': 2, '\u4e09': 3, '\u56db': 4, '\u4e94': 5, '\u516d': 6, '\u4e03': 7, '\u516b': 8, '\u4e5d': 9, '\u5341': 10, '\u5341\u4e00': 11, '\u5341\u4e8c': 12 };

/** A number written in digits or as a Chinese numeral up to 12 (NaN otherwise). */
function zhNumber(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : (ZH_NUMERALS[text] ?? Number.NaN);
}

type Pattern = { re: RegExp; make: (m: RegExpExecArray, now: Date) => DateRange | undefined };

/** Most specific first: a span read by one pattern is not read again by a later one. */
const PATTERNS: readonly Pattern[] = [
  // 2023年10月13日
  { re: new RegExp(String.raw`${YEAR}\s*\u5e74\s*${ZH_MONTH}\s*${ZH_DAY}`, 'g'), make: (m) => day(+m[1]!, zhNumber(m[2]!) - 1, +m[3]!) },
  // 今年7月, 去年三月, 前年10月5日
  {
    re: new RegExp(String.raw`(\u4eca\u5e74|\u53bb\u5e74|\u524d\u5e74)\s*${ZH_MONTH}(?:\s*${ZH_DAY})?`, 'g'),
    make: (m, now) => {
      const year = now.getUTCFullYear() - { '\u4eca\u5e74': 0, '\u53bb\u5e74': 1, '\u524d\u5e74': 2 }[m[1] as '\u4eca\u5e74' | '\u53bb\u5e74' | '\u524d\u5e74'];
      return m[3] === undefined ? monthRange(year, zhNumber(m[2]!) - 1) : day(year, zhNumber(m[2]!) - 1, +m[3]);
    },
  },
  // 2023年7月
  { re: new RegExp(String.raw`${YEAR}\s*\u5e74\s*${ZH_MONTH}`, 'g'), make: (m) => monthRange(+m[1]!, zhNumber(m[2]!) - 1) },
  // 10月13号, without a year
  { re: new RegExp(String.raw`(?<![\d\u5e74])(\d{1,2})\s*\u6708\s*${ZH_DAY}`, 'g'), make: (m) => dayAnyYear(+m[1]! - 1, +m[2]!) },
  { re: new RegExp(String.raw`\b${YEAR}/(\d{1,2})/(\d{1,2})\b`, 'g'), make: (m) => day(+m[1]!, +m[2]! - 1, +m[3]!) },
  { re: new RegExp(String.raw`\b${YEAR}-(\d{2})-(\d{2})\b`, 'gi'), make: (m) => day(+m[1]!, +m[2]! - 1, +m[3]!) },
  { re: new RegExp(String.raw`\b${MONTH}\s+${DAY},?\s+${YEAR}\b`, 'gi'), make: (m) => day(+m[3]!, month(m[1]!), +m[2]!) },
  { re: new RegExp(String.raw`\b${DAY}\s+(?:of\s+)?${MONTH},?\s+${YEAR}\b`, 'gi'), make: (m) => day(+m[3]!, month(m[2]!), +m[1]!) },
  { re: new RegExp(String.raw`\b${YEAR}-(\d{2})\b(?!-)`, 'gi'), make: (m) => monthRange(+m[1]!, +m[2]! - 1) },
  { re: new RegExp(String.raw`\b${MONTH},?\s+(?:of\s+)?${YEAR}\b`, 'gi'), make: (m) => monthRange(+m[2]!, month(m[1]!)) },
  { re: new RegExp(String.raw`\b(?:in|during|since|until|before|after|of|last|this)\s+${MONTH}\b(?!\s*,?\s*(?:of\s+)?\d)`, 'gi'), make: (m) => monthAnyYear(month(m[1]!)) },
  { re: new RegExp(String.raw`\b(?:in|during|of|from|since|until|before|after)\s+${YEAR}\b`, 'gi'), make: (m) => yearRange(+m[1]!) },
  // A Chinese month without a year (七月, 10月份) is that month of any year, as "in July" is.
  { re: new RegExp(String.raw`(?<![\d\u5e74\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341])${ZH_MONTH}`, 'g'), make: (m) => monthAnyYear(zhNumber(m[1]!) - 1) },
  // 2023年
  { re: new RegExp(String.raw`${YEAR}\s*\u5e74`, 'g'), make: (m) => yearRange(+m[1]!) },
  // Relative to now.
  // 3 days ago, 3天前, 三天前
  { re: /(?:\b(\d{1,2})\s+days?\s+ago\b|(\d{1,2}|[\u4e00\u4e8c\u4e24\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341])\s*\u5929\u524d)/gi, make: (m, now) => daysAgo(now, zhNumber(m[1] ?? m[2]!)) },
  // 前天, 今天 / 今日, 昨天 / 昨日
  { re: /\bthe day before yesterday\b|\u524d\u5929/gi, make: (_, now) => daysAgo(now, 2) },
  { re: /\btoday\b|\u4eca\u5929|\u4eca\u65e5/gi, make: (_, now) => daysAgo(now, 0) },
  { re: /\byesterday\b|\u6628\u5929|\u6628\u65e5/gi, make: (_, now) => daysAgo(now, 1) },
  // 上周, 上个星期, 上礼拜 (and traditional forms); 本周, 这周, 这个星期
  { re: /\blast\s+week\b|\u4e0a\s*(?:\u4e2a|\u500b)?\s*(?:\u5468|\u9031|\u661f\u671f|\u793c\u62dc|\u79ae\u62dc)/gi, make: (_, now) => week(now, -1) },
  { re: /\bthis\s+week\b|(?:\u672c|\u8fd9|\u9019)\s*(?:\u4e2a|\u500b)?\s*(?:\u5468|\u9031|\u661f\u671f|\u793c\u62dc|\u79ae\u62dc)/gi, make: (_, now) => week(now, 0) },
  // 上个月, 上月; 本月, 这个月
  { re: /\blast\s+month\b|\u4e0a\s*(?:\u4e2a|\u500b)?\s*\u6708/gi, make: (_, now) => monthRange(now.getUTCFullYear(), now.getUTCMonth() - 1) },
  { re: /\bthis\s+month\b|(?:\u672c|\u8fd9\u4e2a|\u9019\u500b)\s*\u6708/gi, make: (_, now) => monthRange(now.getUTCFullYear(), now.getUTCMonth()) },
  // 去年, 今年, 前年
  { re: /\blast\s+year\b|\u53bb\u5e74/gi, make: (_, now) => yearRange(now.getUTCFullYear() - 1) },
  { re: /\bthis\s+year\b|\u4eca\u5e74/gi, make: (_, now) => yearRange(now.getUTCFullYear()) },
  { re: /\u524d\u5e74/g, make: (_, now) => yearRange(now.getUTCFullYear() - 2) },
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
  if (m === -1 && Number.isInteger(year)) return monthRange(year - 1, 11); // "last month" in January
  if (!valid(year) || !(m >= 0 && m <= 11)) return undefined;
  return { from: new Date(Date.UTC(year, m, 1)), to: new Date(Date.UTC(year, m + 1, 1)), anyYear: false };
}

function monthAnyYear(m: number): DateRange | undefined {
  if (!(m >= 0 && m <= 11)) return undefined;
  return { from: new Date(Date.UTC(2000, m, 1)), to: new Date(Date.UTC(2000, m + 1, 1)), anyYear: true };
}

/** A day named without a year (10月13日): that day of any year. Dated in 2000, a leap year, so 29 February exists. */
function dayAnyYear(m: number, d: number): DateRange | undefined {
  const range = day(2000, m, d);
  return range && { ...range, anyYear: true };
}

const DAY_MS = 86_400_000;

/** The UTC day `n` days before now's. */
function daysAgo(now: Date, n: number): DateRange | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 366) return undefined;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { from: new Date(today - n * DAY_MS), to: new Date(today - (n - 1) * DAY_MS), anyYear: false };
}

/** The week (Monday to Sunday, UTC) `offset` weeks from now's. */
function week(now: Date, offset: number): DateRange {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const monday = today - ((now.getUTCDay() + 6) % 7) * DAY_MS + offset * 7 * DAY_MS;
  return { from: new Date(monday), to: new Date(monday + 7 * DAY_MS), anyYear: false };
}

function yearRange(year: number): DateRange | undefined {
  return valid(year) ? { from: new Date(Date.UTC(year, 0, 1)), to: new Date(Date.UTC(year + 1, 0, 1)), anyYear: false } : undefined;
}

/**
 * The ranges a query names, most specific first; a span of text already read as a day is not
 * read again as a month or a year. `now` anchors "today", "last week", "去年" and the like.
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
      const range = make(m, now);
      if (range) {
        out.push(range);
        taken.push([start, end]);
      }
    }
  }
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
      const months = (r.to.getUTCFullYear() - r.from.getUTCFullYear()) * 12 + r.to.getUTCMonth();
      let fit = 0;
      for (const year of [y - 1, y, y + 1]) {
        const f = Date.UTC(year, r.from.getUTCMonth(), r.from.getUTCDate());
        const e = Date.UTC(year, months, r.to.getUTCDate());
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
