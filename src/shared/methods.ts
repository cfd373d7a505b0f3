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
  choices?: string[];
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
