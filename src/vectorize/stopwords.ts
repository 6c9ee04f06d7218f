/**
 * English stopwords: words too common to tell memories apart. Dropping them keeps the vector's
 * weight on content words and keeps full-text matches from being satisfied by "the".
 *
 * The list is the Snowball English list (the one Postgres ships as `english.stop`), plus the
 * fragments that English contractions leave behind, because the tokenizer splits at
 * apostrophes (`we'll` → we + ll, `isn't` → isn + t). Only whole pieces are checked, before
 * stemming; an identifier such as `is_valid` still keeps its whole form.
 */
const SNOWBALL = `
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
she her hers herself it its itself they them their theirs themselves what which who whom this
that these those am is are was were be been being have has had having do does did doing a an
the and but if or because as until while of at by for with about against between into through
during before after above below to from up down in out on off over under again further then
once here there when where why how all any both each few more most other some such no nor not
only own same so than too very s t can will just don should now`;

const CONTRACTION_FRAGMENTS = `
d ll m re ve ain aren couldn didn doesn hadn hasn haven isn mightn mustn needn shan shouldn
wasn weren won wouldn`;

export const STOPWORDS: ReadonlySet<string> = new Set(
  `${SNOWBALL} ${CONTRACTION_FRAGMENTS}`.split(/\s+/).filter((w) => w.length > 0),
);

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}
