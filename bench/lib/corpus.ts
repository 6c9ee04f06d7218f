/**
 * A deterministic synthetic corpus for the scale benchmark: no network, no data files, the
 * same seed and size always give byte-identical output.
 *
 * What it imitates is what makes a memory store slow or fast, not prose quality:
 *   - Zipf-distributed vocabulary (a few very common words, a long tail of rare ones), so GIN
 *     posting lists and document frequencies have realistic shapes. The head is real English
 *     and technical words; the tail is pronounceable made-up words (there is no dictionary
 *     here), which tokenise, stem and n-gram like real words.
 *   - Lengths: a user prompt of ~14 words (log-normal), a response of ~80 (long tail to ~1,200),
 *     a code block in about a quarter of responses; notes and facts are shorter.
 *   - Languages: sessions in English (70%), Chinese (15%) and mixed Chinese/English with code
 *     identifiers (15%).
 *   - Structure: sessions of ~12 turns on a topic (session words recur), 24 projects of
 *     Zipf-distributed sizes, tags on a quarter of memories, timestamps spread over 18 months.
 *   - Each memory names a few identifiers of its own (functions, paths, error codes), as real
 *     coding conversations do; they make known-answer queries possible.
 *
 * Known-answer queries: a sample of memories each yields one query built from its own words
 * (keywords, a phrase, an identifier, Chinese words, a keyword query with a typo, a single rare
 * word: 1–8 words). The memory it came from is the known answer; whether search puts it in its
 * top 10 is a sanity check of quality at scale (other memories may match as well or better,
 * so it is not a recall measure).
 */

/** Bumped whenever the output changes, so cached corpus files are never reused across versions. */
export const CORPUS_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Randomness

/** sfc32 (Chris Doty-Humphrey's small fast counter), seeded through splitmix32. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Log-normal with the given median, clamped to [lo, hi] and rounded. */
  lognormal(median: number, sigma: number, lo: number, hi: number): number {
    const u = 1 - this.next();
    const v = this.next();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.min(hi, Math.max(lo, Math.round(median * Math.exp(sigma * normal))));
  }

  hex(n: number): string {
    let out = '';
    while (out.length < n) out += this.u32().toString(16).padStart(8, '0');
    return out.slice(0, n);
  }

  uuid(): string {
    const h = this.hex(32);
    const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** Vose's alias method: O(1) sampling from a fixed discrete distribution. */
class Alias {
  readonly #prob: Float64Array;
  readonly #alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]!;
    this.#prob = new Float64Array(n);
    this.#alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.#prob[s] = scaled[s]!;
      this.#alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) this.#prob[i] = 1;
  }

  sample(rng: Rng): number {
    const i = rng.int(this.#prob.length);
    return rng.next() < this.#prob[i]! ? i : this.#alias[i]!;
  }
}

/** Zipf–Mandelbrot weights 1 / (rank + q)^s. */
function zipf(n: number, s: number, q: number): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = 1 / Math.pow(r + 1 + q, s);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const words = (s: string): string[] => s.trim().split(/\s+/);

const EN_FUNCTION = words(`
the a an of to in and is it that for on with as was we you i this be are at by or from not but have
has had can will would should could do does did so if then than there what when which how why where
all any some more most just also only very into about up out over after before because while our your
they them it's don't let's we'll i'm maybe still again now here each other both same`);

const EN_CONTENT = words(`
time year people way day thing work make use need look find give tell try call change start show run
move help keep write read think know want mean problem question issue answer idea plan team meeting
week month morning evening user customer report document note list file page result value number name
case point part place fact system group company service product price cost budget design review
feedback release deadline schedule goal progress decision reason example option feature request
support access account email message phone address detail summary context history step process rule
policy owner manager friend family trip travel weekend holiday dinner book movie music game sport
health doctor school class lesson course project task ticket board sprint backlog estimate priority
risk blocker update status draft version copy template format style color layout screen mobile desktop
browser window button form field input output default setting preference language translation
content comment reply thread channel chat call invite calendar slot room office remote home city
country weather coffee lunch birthday gift photo picture video camera painting garden dog cat`);

const EN_TECH = words(`
postgres postgresql database index query table column schema migration transaction replica primary
shard partition cache redis kafka queue worker cron docker container kubernetes pod deployment helm
terraform aws lambda bucket nginx proxy balancer http https tls certificate dns latency throughput
timeout retry backoff error exception stack trace log metric alert dashboard grafana prometheus
typescript javascript node npm python rust golang java react vue webpack vite eslint prettier jest
test fixture mock pipeline github branch commit merge rebase lint build bundle compile runtime memory
cpu thread async await promise callback stream buffer socket websocket api endpoint route handler
middleware auth token jwt oauth session cookie password hash encrypt secret key config env variable
flag parser json yaml csv regex unicode utf8 encoding vector embedding search ranking score recall
model prompt agent tool mcp server client payload header bug fix patch refactor function method
interface type generic module import export package dependency upgrade benchmark profile optimize
performance scale vacuum autovacuum analyze explain planner bitmap btree gin tsvector tsquery
pgbouncer pool connection deadlock lock mutex semaphore race condition goroutine channel closure
iterator generator decorator annotation serializer validator scheduler dispatcher reducer selector
hook component prop state render hydrate ssr cdn edge region zone cluster node replica failover
backup restore snapshot checksum compression gzip zstd protobuf grpc graphql rest webhook cors csrf
xss sql injection sanitize escape`);

const VERBS = words(`get set load save parse build fetch sync handle resolve create update delete compute render
validate normalize encode decode flush merge split track apply emit schedule retry compact index
rank score filter collect dispatch register attach detach refresh rotate verify sign`);

const CLASS_SUFFIXES = words('Service Manager Handler Store Client Error Config Factory Provider Queue Worker Cache Pool Router Parser');
const DIRS = words('src lib app pkg internal cmd api core store memory server client utils services handlers models jobs');
const EXTS = words('ts ts ts js py go rs sql yaml md json tsx');
const LANGS = words('ts python go sql rust bash js');
const TAGS = words(`bug decision todo design ops perf security frontend backend infra docs release meeting idea
question followup research personal travel finance`);

const ZH_FUNCTION = words(`的 了 是 在 和 我 你 我们 这个 那个 也 就 要 不 有 会 可以 一下 还 但是 因为 所以 如果 已经 怎么 什么
为什么 吗 呢 吧 一个 他们 现在 然后 还是 比较 一些 应该 需要 没有 可能 这样 这里`);

const ZH_CONTENT = words(`
数据 数据库 索引 查询 服务器 配置 部署 测试 问题 错误 性能 优化 用户 记忆 会话 项目 代码 函数 接口 模块
版本 更新 升级 日志 缓存 内存 线程 进程 网络 延迟 超时 重试 认证 权限 密码 令牌 文件 目录 路径 文档 需求
设计 方案 架构 系统 客户端 服务端 请求 响应 参数 返回 结果 分析 统计 报表 会议 计划 时间 任务 进度 团队
同事 客户 产品 功能 页面 按钮 样式 组件 框架 依赖 安装 环境 变量 容器 镜像 集群 节点 备份 恢复 迁移 事务
并发 队列 消息 事件 监控 告警 指标 吞吐 搜索 排序 向量 模型 提示 工具 代理 周末 晚上 明天 今天 昨天 上周
下周 旅行 电影 音乐 朋友 家人 孩子 学校 老师 学习 工作 公司 城市 天气 预算 价格 合同 邮件 电话 地址 账号
注册 登录 支付 订单 库存 物流 发票 退款 评论 反馈 上线 回滚 发布 分支 合并 冲突 重构 注释 类型 编译 打包`);

/** Common Han characters for the long tail of made-up two-character words. */
const ZH_CHARS = Array.from(
  '一二三四五六七八九十百千万上下左右前后中外大小多少长短高低新旧快慢好坏早晚开关进出来去东西南北天地人心手口目耳'
    + '山水火木金土日月风云雨雪花草树林河海江湖石田米车马牛羊鸟鱼书画文字语言声音光色红黄蓝绿白黑春夏秋冬年时分秒'
    + '家国城市村路门窗桌椅床灯电机器网线表图片卡包盒箱瓶杯碗盘刀笔纸布衣帽鞋袜钱价买卖送收发读写看听说想做用走跑'
    + '坐站睡吃喝玩学教问答找试改换修建造运算计划设备件部品质量类型形状位置方向距离速度温度重轻热冷明暗强弱真假正反'
    + '同异全半空满深浅近远安危静动合离聚散始终因果利害得失成败存亡治乱老少男女父母兄弟姐妹师生客主官民兵将王侯',
);

const SYLLABLE_ONSETS = words('b c d f g h j k l m n p r s t v w z br cr dr fl gr pl pr st tr sh ch th sk sl sp');
const SYLLABLE_VOWELS = words('a e i o u a e i o ai ea io ou');
const SYLLABLE_CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'x', 'nd', 'rt', 'st', 'ck'];

const EN_TAIL_SIZE = 40_000;
const ZH_TAIL_SIZE = 8_000;
const PROJECTS = 24;

interface Vocabulary {
  /** English content words, most common first: real words, then technical, then made-up. */
  en: string[];
  enSampler: Alias;
  /** Made-up words only (identifier parts, topic words). */
  enTail: string[];
  zh: string[];
  zhSampler: Alias;
  zhTail: string[];
  enFunction: Alias;
  zhFunction: Alias;
  projects: string[];
  projectSampler: Alias;
}

function buildVocabulary(): Vocabulary {
  const rng = new Rng(0x5a6e);
  const seen = new Set<string>([...EN_FUNCTION, ...EN_CONTENT, ...EN_TECH, ...VERBS]);
  const enTail: string[] = [];
  while (enTail.length < EN_TAIL_SIZE) {
    const syllables = rng.chance(0.55) ? 2 : rng.chance(0.7) ? 3 : 4;
    let w = '';
    for (let s = 0; s < syllables; s++) w += rng.pick(SYLLABLE_ONSETS) + rng.pick(SYLLABLE_VOWELS) + (s === syllables - 1 || rng.chance(0.3) ? rng.pick(SYLLABLE_CODAS) : '');
    if (w.length < 4 || w.length > 14 || seen.has(w)) continue;
    seen.add(w);
    enTail.push(w);
  }
  const zhSeen = new Set<string>([...ZH_FUNCTION, ...ZH_CONTENT]);
  const zhTail: string[] = [];
  while (zhTail.length < ZH_TAIL_SIZE) {
    const w = rng.pick(ZH_CHARS) + rng.pick(ZH_CHARS);
    if (zhSeen.has(w)) continue;
    zhSeen.add(w);
    zhTail.push(w);
  }
  // Interleave real content and technical words at the head so both are common.
  const head: string[] = [];
  for (let i = 0; i < Math.max(EN_CONTENT.length, EN_TECH.length); i++) {
    if (i < EN_CONTENT.length) head.push(EN_CONTENT[i]!);
    if (i < EN_TECH.length) head.push(EN_TECH[i]!);
  }
  const en = [...head, ...enTail];
  const zh = [...ZH_CONTENT, ...zhTail];
  const projects: string[] = [];
  for (let i = 0; i < PROJECTS; i++) projects.push(`${enTail[i * 7]!}-${rng.pick(words('api web app service cli infra docs notes data ml'))}`);
  return {
    en,
    enSampler: new Alias(zipf(en.length, 1.0, 2.7)),
    enTail,
    zh,
    zhSampler: new Alias(zipf(zh.length, 1.0, 2.7)),
    zhTail,
    enFunction: new Alias(zipf(EN_FUNCTION.length, 0.9, 1)),
    zhFunction: new Alias(zipf(ZH_FUNCTION.length, 0.9, 1)),
    projects,
    projectSampler: new Alias(zipf(PROJECTS, 1.0, 1)),
  };
}

let vocabulary: Vocabulary | undefined;
function vocab(): Vocabulary {
  vocabulary ??= buildVocabulary();
  return vocabulary;
}

// ---------------------------------------------------------------------------------------------
// Records (the Sage export format, version 1: what `sage import` reads)

export interface SessionRecord {
  type: 'session';
  id: string;
  project: string;
  title: string;
  created_at: string;
  last_active: string;
}

export type MemoryKind = 'turn' | 'note' | 'fact' | 'agent_report';

export interface MemoryRecord {
  type: 'memory';
  id: string;
  project: string;
  session: string;
  kind: MemoryKind;
  user_prompt: string | null;
  content: string;
  tags: string[];
  metadata: Record<string, string | number>;
  created_at: string;
  updated_at: string;
  deleted_at: null;
}

export type QueryFlavour = 'keywords' | 'phrase' | 'identifier' | 'chinese' | 'typo' | 'single';

export interface KnownQuery {
  query: string;
  project: string;
  /** Id of the memory the query was made from. */
  target: string;
  flavour: QueryFlavour;
}

type Language = 'en' | 'zh' | 'mixed';

/** A word placed in a memory, remembered for deriving a query from that memory. */
interface Anchor {
  text: string;
  /** Vocabulary rank (higher is rarer); identifiers of the memory get a very high rank. */
  rank: number;
  script: 'en' | 'zh' | 'code';
}

interface SessionState {
  record: SessionRecord;
  language: Language;
  turns: number;
  turn: number;
  startMs: number;
  stepMs: number;
  topicEn: string[];
  topicZh: string[];
  topicIdents: string[];
}

export interface CorpusOptions {
  /** Memories in the corpus proper. */
  size: number;
  /** Known-answer queries to derive (from memories spread over the whole corpus). */
  queries: number;
  /** Further turns after the corpus, not part of it: new conversation for the save benchmark. */
  extra?: number;
  seed?: number;
}

const START_MS = Date.parse('2024-01-01T08:00:00Z');
const SPAN_MS = 540 * 24 * 3600 * 1000;

/**
 * A corpus stream. `records()` yields session and memory records in order (a session's record
 * before its first memory); while it runs, `queries` fills with the known-answer queries and,
 * after the corpus proper, `extra` with the further turns.
 */
export class Corpus {
  readonly size: number;
  readonly seed: number;
  readonly queries: KnownQuery[] = [];
  readonly extra: MemoryRecord[] = [];
  readonly #extra: number;
  readonly #targets: Set<number>;
  readonly #v: Vocabulary;
  #rng: Rng;

  constructor(options: CorpusOptions) {
    this.size = options.size;
    this.seed = options.seed ?? 1;
    this.#extra = options.extra ?? 0;
    this.#v = vocab();
    this.#rng = new Rng(this.seed * 1_000_003 + this.size);
    // Targets: evenly spread with jitter, so every part of the timeline is queried.
    const targetRng = new Rng(this.seed ^ 0x7a3b_9c1d);
    this.#targets = new Set();
    const q = Math.min(options.queries, this.size);
    for (let k = 0; k < q; k++) this.#targets.add(Math.min(this.size - 1, Math.floor(((k + targetRng.next()) * this.size) / q)));
  }

  *records(): Generator<SessionRecord | MemoryRecord> {
    const rng = this.#rng;
    let session: SessionState | undefined;
    const total = this.size + this.#extra;
    for (let i = 0; i < total; i++) {
      if (!session || session.turn >= session.turns) {
        session = this.#newSession(i);
        if (i < this.size) yield session.record;
      }
      const anchors: Anchor[] = [];
      const memory = this.#memory(session, i, anchors);
      session.turn++;
      if (i < this.size) {
        if (this.#targets.has(i)) {
          const query = this.#query(memory, anchors, rng);
          if (query) this.queries.push(query);
        }
        yield memory;
      } else {
        this.extra.push(memory);
      }
    }
  }

  #newSession(i: number): SessionState {
    const rng = this.#rng;
    const v = this.#v;
    const turns = rng.lognormal(12, 0.8, 1, 200);
    const roll = rng.next();
    const language: Language = roll < 0.7 ? 'en' : roll < 0.85 ? 'zh' : 'mixed';
    const project = v.projects[v.projectSampler.sample(rng)]!;
    const startMs = START_MS + Math.floor((SPAN_MS * Math.min(i, this.size)) / Math.max(1, this.size));
    const stepMs = rng.range(20, 300) * 1000;
    const topicEn = Array.from({ length: 10 }, () => (rng.chance(0.6) ? rng.pick(v.enTail) : v.en[v.enSampler.sample(rng)]!));
    const topicZh = Array.from({ length: 8 }, () => (rng.chance(0.6) ? rng.pick(v.zhTail) : v.zh[v.zhSampler.sample(rng)]!));
    const topicIdents = Array.from({ length: 3 }, () => this.#identifier(rng));
    const date = new Date(startMs).toISOString();
    const title = language === 'zh' ? topicZh.slice(0, 3).join('') : topicEn.slice(0, 3).join(' ');
    return {
      record: {
        type: 'session',
        id: `s-${date.slice(0, 10)}-${rng.hex(8)}`,
        project,
        title,
        created_at: date,
        last_active: new Date(startMs + stepMs * (turns - 1)).toISOString(),
      },
      language,
      turns,
      turn: 0,
      startMs,
      stepMs,
      topicEn,
      topicZh,
      topicIdents,
    };
  }

  #memory(s: SessionState, i: number, anchors: Anchor[]): MemoryRecord {
    const rng = this.#rng;
    const own = Array.from({ length: rng.range(1, 3) }, () => this.#identifier(rng));
    for (const id of own) anchors.push({ text: id, rank: 1e9, script: 'code' });
    const roll = rng.next();
    const kind: MemoryKind = roll < 0.88 ? 'turn' : roll < 0.95 ? 'note' : roll < 0.98 ? 'fact' : 'agent_report';
    const promptLanguage: 'en' | 'zh' = s.language === 'en' ? 'en' : s.language === 'zh' ? 'zh' : rng.chance(0.7) ? 'zh' : 'en';
    const responseLanguage: 'en' | 'zh' = s.language === 'en' ? 'en' : s.language === 'zh' ? 'zh' : rng.chance(0.5) ? 'zh' : 'en';
    let userPrompt: string | null = null;
    let content: string;
    if (kind === 'turn') {
      userPrompt = this.#prose(s, promptLanguage, rng.lognormal(14, 0.7, 2, 150), own, anchors, true);
      content = this.#prose(s, responseLanguage, rng.lognormal(80, 0.85, 5, 1200), own, anchors, false);
      if (rng.chance(0.25)) content += `\n\n${this.#codeBlock(s, own)}\n\n${this.#prose(s, responseLanguage, rng.lognormal(20, 0.6, 4, 120), own, anchors, false)}`;
    } else {
      content = this.#prose(s, responseLanguage, rng.lognormal(kind === 'agent_report' ? 120 : 30, 0.6, 4, 600), own, anchors, false);
    }
    const tags = rng.chance(0.25) ? [...new Set(Array.from({ length: rng.range(1, 3) }, () => rng.pick(TAGS)))] : [];
    const created = new Date(s.startMs + s.stepMs * s.turn + rng.int(15_000)).toISOString();
    const metadata: Record<string, string | number> = { turn: s.turn + 1 };
    if (rng.chance(0.2)) metadata['file'] = this.#path(rng);
    return {
      type: 'memory',
      id: rng.uuid(),
      project: s.record.project,
      session: s.record.id,
      kind,
      user_prompt: userPrompt,
      content,
      tags,
      metadata,
      created_at: created,
      updated_at: created,
      deleted_at: null,
    };
  }

  /** Sentences of about `target` words (Chinese: characters ≈ 1.6 × words). */
  #prose(s: SessionState, language: 'en' | 'zh', target: number, own: readonly string[], anchors: Anchor[], question: boolean): string {
    const rng = this.#rng;
    const v = this.#v;
    const sentences: string[] = [];
    let count = 0;
    while (count < target) {
      const len = Math.min(target - count, rng.lognormal(language === 'en' ? 12 : 9, 0.45, 3, 40));
      const tokens: string[] = [];
      for (let k = 0; k < len; k++) {
        const r = rng.next();
        if (language === 'en') {
          if (r < 0.42) tokens.push(EN_FUNCTION[v.enFunction.sample(rng)]!);
          else if (r < 0.58) {
            const w = rng.pick(s.topicEn);
            tokens.push(w);
            anchors.push({ text: w, rank: 50_000, script: 'en' });
          } else if (r < 0.6) tokens.push(`\`${rng.chance(0.6) ? rng.pick(own) : rng.pick(s.topicIdents)}\``);
          else {
            const rank = v.enSampler.sample(rng);
            const w = v.en[rank]!;
            tokens.push(w);
            if (rank > 300) anchors.push({ text: w, rank, script: 'en' });
          }
        } else {
          if (r < 0.38) tokens.push(ZH_FUNCTION[v.zhFunction.sample(rng)]!);
          else if (r < 0.55) {
            const w = rng.pick(s.topicZh);
            tokens.push(w);
            anchors.push({ text: w, rank: 50_000, script: 'zh' });
          } else if (r < 0.58) tokens.push(` ${rng.chance(0.6) ? rng.pick(own) : rng.pick(s.topicIdents)} `);
          else if (r < 0.62 && s.language === 'mixed') tokens.push(` ${v.en[v.enSampler.sample(rng)]!} `);
          else {
            const rank = v.zhSampler.sample(rng);
            tokens.push(v.zh[rank]!);
            if (rank > 100) anchors.push({ text: v.zh[rank]!, rank, script: 'zh' });
          }
        }
      }
      count += len;
      if (language === 'en') {
        const first = tokens[0]!;
        tokens[0] = first.charAt(0).toUpperCase() + first.slice(1);
        sentences.push(tokens.join(' ') + (question && count >= target ? '?' : rng.chance(0.1) ? ':' : '.'));
      } else {
        sentences.push(tokens.join('').trim() + (question && count >= target ? '？' : '。'));
      }
    }
    return sentences.join(language === 'en' ? ' ' : '');
  }

  #codeBlock(s: SessionState, own: readonly string[]): string {
    const rng = this.#rng;
    const lang = rng.pick(LANGS);
    const lines: string[] = [];
    const n = rng.lognormal(6, 0.5, 2, 40);
    const ident = () => (rng.chance(0.5) ? rng.pick(own) : rng.chance(0.5) ? rng.pick(s.topicIdents) : this.#identifier(rng));
    const snake = () => `${rng.pick(this.#v.enTail)}_${rng.pick(EN_TECH)}`;
    for (let k = 0; k < n; k++) {
      switch (rng.int(7)) {
        case 0:
          lines.push(`const ${ident()} = await ${rng.pick(EN_TECH)}.${ident()}(${snake()});`);
          break;
        case 1:
          lines.push(`if (!${ident()}) throw new ${this.#pascal(rng)}('${rng.pick(EN_CONTENT)} ${rng.pick(EN_TECH)} failed');`);
          break;
        case 2:
          lines.push(`SELECT ${snake()}, ${snake()} FROM ${snake()} WHERE ${snake()} = $1 ORDER BY created_at DESC LIMIT ${rng.range(1, 500)};`);
          break;
        case 3:
          lines.push(`def ${snake()}(${snake()}, ${rng.pick(EN_TECH)}=None):`, `    return ${ident()}(${rng.pick(EN_TECH)})`);
          break;
        case 4:
          lines.push(`func ${this.#pascal(rng)}(ctx context.Context, ${rng.pick(EN_TECH)} string) error {`);
          break;
        case 5:
          lines.push(`${this.#path(rng)}:${rng.range(1, 900)}:${rng.range(1, 80)} - error TS${rng.range(1000, 9999)}: ${rng.pick(EN_CONTENT)} ${ident()}`);
          break;
        default:
          lines.push(`  ${ident()}: ${rng.range(0, 10_000)}, // ${rng.pick(EN_CONTENT)} ${rng.pick(EN_TECH)}`);
      }
    }
    return `\`\`\`${lang}\n${lines.join('\n')}\n\`\`\``;
  }

  #pascal(rng: Rng): string {
    const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
    return cap(rng.pick(this.#v.enTail)) + cap(rng.pick(EN_TECH)) + rng.pick(CLASS_SUFFIXES);
  }

  #path(rng: Rng): string {
    return `${rng.pick(DIRS)}/${rng.pick(DIRS)}/${rng.pick(this.#v.enTail)}_${rng.pick(EN_TECH)}.${rng.pick(EXTS)}`;
  }

  /** A code identifier: camelCase, snake_case, PascalCase, a path or an error code. */
  #identifier(rng: Rng): string {
    const v = this.#v;
    const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
    switch (rng.int(6)) {
      case 0:
      case 1:
        return rng.pick(VERBS) + cap(rng.pick(v.enTail)) + (rng.chance(0.5) ? cap(rng.pick(EN_TECH)) : '');
      case 2:
        return `${rng.pick(v.enTail)}_${rng.pick(EN_TECH)}${rng.chance(0.4) ? `_${rng.pick(VERBS)}` : ''}`;
      case 3:
        return this.#pascal(rng);
      case 4:
        return this.#path(rng);
      default:
        return rng.chance(0.5) ? `ERR_${rng.pick(v.enTail).toUpperCase()}_${rng.pick(EN_TECH).toUpperCase()}` : `E${rng.range(1000, 9999)}-${rng.pick(v.enTail)}`;
    }
  }

  /** One known-answer query made from a memory's own words (1–8 words). */
  #query(m: MemoryRecord, anchors: readonly Anchor[], rng: Rng): KnownQuery | undefined {
    const en = anchors.filter((a) => a.script === 'en');
    const zh = anchors.filter((a) => a.script === 'zh');
    const code = anchors.filter((a) => a.script === 'code');
    const rarest = (list: readonly Anchor[], n: number): string[] => {
      const sorted = [...new Map(list.map((a) => [a.text, a])).values()].sort((a, b) => b.rank - a.rank);
      // Mostly rare words, some from the middle: a person remembers a few distinctive words.
      const pool = sorted.slice(0, Math.max(n, Math.ceil(sorted.length / 2)));
      const out: string[] = [];
      while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0]!.text);
      return out;
    };
    const roll = rng.next();
    let flavour: QueryFlavour;
    let query: string;
    if (zh.length >= 2 && (en.length < 2 || roll < 0.7)) {
      flavour = 'chinese';
      query = rarest(zh, rng.range(1, 3)).join(rng.chance(0.5) ? '' : ' ');
    } else if (en.length < 2) {
      if (code.length === 0) return undefined;
      flavour = 'identifier';
      query = rng.pick(code).text;
    } else if (roll < 0.3) {
      flavour = 'keywords';
      query = rarest(en, rng.range(2, 4)).join(' ');
    } else if (roll < 0.45) {
      flavour = 'phrase';
      const picked = rarest(en, rng.range(2, 4));
      query = `${rng.pick(['how did we', 'why does', 'what was the', 'where is the', 'fix'])} ${picked.join(' ')}`.split(' ').slice(0, 8).join(' ');
    } else if (roll < 0.62) {
      flavour = 'identifier';
      query = rng.pick(code).text + (rng.chance(0.4) ? ` ${rarest(en, 1).join('')}` : '');
    } else if (roll < 0.85) {
      flavour = 'typo';
      const picked = rarest(en, rng.range(1, 3));
      let longest = 0;
      picked.forEach((w, k) => {
        if (w.length > picked[longest]!.length) longest = k;
      });
      picked[longest] = typo(picked[longest]!, rng);
      query = picked.join(' ');
    } else {
      flavour = 'single';
      query = rarest(en, 1).join('');
    }
    return { query, project: m.project, target: m.id, flavour };
  }
}

/** One edit of a word of 5+ letters: swap two neighbours, drop one, or double one. */
export function typo(word: string, rng: Rng): string {
  if (word.length < 5) return word;
  const at = rng.range(1, word.length - 2);
  switch (rng.int(3)) {
    case 0:
      return word.slice(0, at) + word[at + 1]! + word[at]! + word.slice(at + 2);
    case 1:
      return word.slice(0, at) + word.slice(at + 1);
    default:
      return word.slice(0, at) + word[at]! + word.slice(at);
  }
}
