/**
 * Methods described as data (no code): what the CLI help, the pickers and the panel's parameter
 * sections show. The extension host reads these without loading TF.js.
 */

/** A user-settable parameter of a method: drives CLI validation docs and the panel's parameter section. */
export interface ParameterSpec {
  /** Key in MethodOptions / result params, e.g. 'steps'. */
  name: string;
  label: string;
  /** One line: what the parameter does. */
  description: string;
  type: 'integer' | 'number' | 'boolean' | 'choice' | 'string';
  default: number | boolean | string;
  min?: number;
  max?: number;
  /** `min` itself is not allowed (e.g. a fraction in (0, 1]). */
  minExclusive?: boolean;
  choices?: string[];
  /** A `choice` that also accepts a file path (the baseline: a named one or a file). */
  orFile?: boolean;
  /** Unit shown beside the value, e.g. 'px'. */
  unit?: string;
  /** CLI flag without dashes; default: the name in kebab case (maxSigma → max-sigma). */
  flag?: string;
}

/** A parameter's value as it travels (JSON, settings, CLI flags): typed by the spec's `type`. */
export type ParameterValue = ParameterSpec['default'];

/** Parameter values by `ParameterSpec.name`: the keys are whatever the method definitions declare. */
export type ParameterValues = { [name: string]: ParameterValue | undefined };

/**
 * The option (and CLI flag) naming the resource behind each `MethodNeeds` entry: methods read it
 * beside their parameters, so a caller forwards it whatever parameters the methods declare.
 */
export const NEED_OPTIONS = { patterns: 'patterns', referenceSet: 'reference' } as const satisfies Record<keyof MethodNeeds, string>;

/** The CLI flag (without dashes) of a parameter. */
export function flagOf(spec: Pick<ParameterSpec, 'name' | 'flag'>): string {
  return spec.flag ?? spec.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Why `value` breaks the spec (a one-line message naming the flag), or undefined when it fits. */
export function parameterProblem(spec: ParameterSpec, value: unknown): string | undefined {
  const flag = `--${flagOf(spec)}`;
  const got = `(got ${typeof value === 'string' ? `'${value}'` : String(value)})`;
  if (spec.type === 'boolean') return typeof value === 'boolean' ? undefined : `${flag} is a switch ${got}`;
  if (spec.type === 'string') return typeof value === 'string' ? undefined : `${flag} must be text ${got}`;
  if (spec.type === 'choice') {
    // A file baseline arrives as a path (CLI) or as `{ file }` (resolved options).
    if (spec.orFile === true && (typeof value === 'string' || (typeof value === 'object' && value !== null))) return undefined;
    if (typeof value === 'string' && (spec.choices ?? []).includes(value)) return undefined;
    return `${flag} must be one of ${(spec.choices ?? []).join(', ')}${spec.orFile === true ? ' or a file' : ''} ${got}`;
  }
  const lo = spec.min ?? -Infinity;
  const hi = spec.max ?? Infinity;
  const n = typeof value === 'number' ? value : NaN;
  const whole = spec.type === 'integer';
  const inRange = Number.isFinite(n) && (spec.minExclusive === true ? n > lo : n >= lo) && n <= hi;
  if (inRange && (!whole || Number.isInteger(n))) return undefined;
  if (whole && hi === Infinity) return `${flag} must be a whole number ≥ ${lo === -Infinity ? '-∞' : lo} ${got}`;
  const range = `${spec.minExclusive === true ? '(' : '['}${lo}, ${hi}]`;
  return `${flag} must be ${whole ? 'a whole number' : 'a number'} in ${range} ${got}`;
}

/** One method in `pathlens help --json`: the catalog with CLI flags, in the issue's field names. */
export interface MethodHelp {
  name: string;
  label: string;
  summary: string;
  complete: boolean;
  needs: MethodNeeds;
  parameters: {
    name: string;
    flag: string;
    type: ParameterSpec['type'];
    default: ParameterSpec['default'];
    min?: number;
    max?: number;
    minExclusive?: boolean;
    choices?: string[];
    unit?: string;
    description: string;
  }[];
}

/** The help JSON of the catalog's methods (plain JSON: host, CLI and tests read it alike). */
export function methodHelp(methods: readonly MethodInfo[]): { methods: MethodHelp[] } {
  return {
    methods: methods.map((m) => ({
      name: m.name,
      label: m.title,
      summary: m.description,
      complete: m.complete,
      needs: { ...m.needs },
      parameters: m.parameters.map((p) => ({
        name: p.name,
        flag: `--${flagOf(p)}`,
        type: p.type,
        default: p.default,
        min: p.min,
        max: p.max,
        minExclusive: p.minExclusive,
        choices: p.choices ? [...p.choices] : undefined,
        unit: p.unit,
        description: p.description,
      })),
    })),
  };
}

/** One parameter's range or choices as help text: '[1, 4096]', '(0, 1]', 'a | b', '≥ 9'. */
export function rangeText(p: ParameterSpec): string {
  if (p.type === 'choice') return (p.choices ?? []).join(' | ') + (p.orFile === true ? ' | <file>' : '');
  if (p.type !== 'integer' && p.type !== 'number') return '';
  if (p.min !== undefined && p.max !== undefined) return `${p.minExclusive === true ? '(' : '['}${p.min}, ${p.max}]`;
  if (p.min !== undefined) return `${p.minExclusive === true ? '>' : '≥'} ${p.min}`;
  return p.max !== undefined ? `≤ ${p.max}` : '';
}

/**
 * The methods under `--method` in `pathlens help`: name and description, each line indented by
 * `indent` and wrapped at `width` (a long name gets a line of its own).
 */
export function methodListHelp(methods: readonly MethodInfo[], indent: number, width: number): string {
  const pad = ' '.repeat(indent);
  const column = 14;
  const hanging = pad + ' '.repeat(column);
  const lines: string[] = [];
  for (const m of methods) {
    if (m.name.length >= column) lines.push(`${pad}${m.name}`);
    lines.push(...wrapWords(m.description, m.name.length < column ? `${pad}${m.name.padEnd(column)}` : hanging, hanging, width));
  }
  return `${lines.join('\n')}\n`;
}

/** `text` wrapped at `width`: the first line starts with `first`, the others with `rest` (a word longer than a line keeps its own). */
export function wrapWords(text: string, first: string, rest: string, width: number): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** The default of CLI flag `flag` per method that declares it, in catalog order: 'ig 50, guided-ig 200, …'. */
export function flagDefaults(methods: readonly MethodInfo[], flag: string): string {
  return methods
    .flatMap((m) =>
      m.parameters.filter((p) => flagOf(p) === flag).map((p) => `${m.name} ${String(p.default)}${p.unit ? ` ${p.unit}` : ''}`),
    )
    .join(', ');
}

/** The per-method parameter section of `pathlens help`, derived from the catalog. */
export function methodParametersHelp(methods: readonly MethodInfo[]): string {
  const lines = ["method parameters (each method's definition; 'pathlens help --json' gives them as JSON):"];
  for (const m of methods) {
    if (m.parameters.length === 0) continue;
    lines.push(`  ${m.name}`);
    for (const p of m.parameters) {
      const value = p.type === 'boolean' ? '' : ` <${p.type === 'choice' ? 'choice' : p.type}>`;
      const unit = p.unit ? ` ${p.unit}` : '';
      const range = rangeText(p);
      const def = p.type === 'boolean' || p.default === '' ? '' : `default ${String(p.default)}${unit}`;
      const facts = [def, range].filter((t) => t.length > 0).join('; ');
      lines.push(`    --${flagOf(p)}${value}`.padEnd(30) + ` ${p.description}${facts ? ` (${facts})` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** What the panel knows about a method, for pickers, labels and the completeness badge. */
export interface MethodInfo {
  name: string;
  title: string;
  description: string;
  complete: boolean;
  /** Rendered as the method's collapsible parameter section; changing one sends 'recompute'. */
  parameters: ParameterSpec[];
  needs?: MethodNeeds;
}
/** What a method needs besides a model and an input, so the host can ask for it before a run. */
export interface MethodNeeds {
  /** Fitted patterns for the model (PatternNet, PatternAttribution, PGIG). */
  patterns?: boolean;
  /** A reference set of inputs (Expected Gradients). */
  referenceSet?: boolean;
}

/** The methods as data, in picker order: built from the core's definitions, read by the host without TF.js. */
export class MethodCatalog {
  private readonly byName: ReadonlyMap<string, MethodInfo>;

  constructor(readonly methods: readonly MethodInfo[]) {
    this.byName = new Map(methods.map((m) => [m.name, m]));
  }

  names(): string[] {
    return this.methods.map((m) => m.name);
  }

  /** The named methods' descriptions in the given order (unknown names are skipped). */
  infos(names: readonly string[] = this.names()): MethodInfo[] {
    return names.flatMap((name) => {
      const m = this.byName.get(name);
      return m ? [{ ...m, parameters: m.parameters.map((p) => ({ ...p, choices: p.choices ? [...p.choices] : undefined })) }] : [];
    });
  }

  /** Whether any of the named methods needs `need`. */
  anyNeeds(names: readonly string[], need: keyof MethodNeeds): boolean {
    return names.some((name) => this.byName.get(name)?.needs?.[need] === true);
  }
}

/** The catalog from its JSON form (the build's `methods.json`), or an error naming what is wrong. */
export function parseMethodCatalog(json: unknown): MethodCatalog {
  const fail = (what: string): never => {
    throw new Error(`the method catalog is malformed: ${what}`);
  };
  if (!Array.isArray(json) || json.length === 0) fail('expected a non-empty array of methods');
  for (const [i, m] of (json as unknown[]).entries()) {
    if (typeof m !== 'object' || m === null) fail(`entry ${i} is not an object`);
    const { name, title, parameters } = m as Partial<MethodInfo>;
    if (typeof name !== 'string' || typeof title !== 'string') fail(`entry ${i} has no name or title`);
    if (!Array.isArray(parameters)) fail(`method '${name}' has no parameter list`);
  }
  return new MethodCatalog(json as MethodInfo[]);
}
