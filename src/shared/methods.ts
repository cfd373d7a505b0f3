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
}
