// The shape of one user setting (key, type, default, range, description) and the one rule that
// turns an untrusted value into a usable one. The settings table itself is assembled in
// language-server/src/protocol.ts; the engine's own knobs are declared next door
// (engine-settings.ts) so that the CLI can derive its flags from them without reaching up into
// the language server.

interface SpecBase {
  /** The name under `diffusionInfill.` in VS Code; absent for server-only settings that the
   *  extension does not contribute (other LSP clients may still send them). */
  key?: string;
  markdownDescription: string;
}

export interface BooleanSpec extends SpecBase {
  type: 'boolean';
  default: boolean;
}

export interface NumberSpec extends SpecBase {
  /** 'integer' values are rounded. */
  type: 'integer' | 'number';
  default: number;
  minimum: number;
  maximum: number;
}

export interface ChoiceSpec extends SpecBase {
  type: 'string';
  enum: readonly string[];
  enumDescriptions: readonly string[];
  default: string;
}

export interface StringSpec extends SpecBase {
  type: 'string';
  default: string;
  scope?: 'machine-overridable';
}

export interface ListSpec extends SpecBase {
  type: 'array';
  items: { type: 'string' };
  default: readonly string[];
  uniqueItems: true;
}

export type SettingSpec = BooleanSpec | NumberSpec | ChoiceSpec | StringSpec | ListSpec;

/** The value type a spec stands for. */
export type SettingValue<S> =
  S extends { enum: readonly (infer T)[] } ? T
    : S extends { type: 'boolean' } ? boolean
      : S extends { type: 'integer' | 'number' } ? number
        : S extends { type: 'array' } ? string[]
          : string;

/**
 * The usable value of `raw` for `spec`, or undefined when there is none: a wrong type, a value
 * outside an enum, a blank string or a non-finite number. Numbers are clamped (and integers
 * rounded), lists keep only their strings: one bad field never breaks the rest.
 */
export function acceptSetting<S extends SettingSpec>(spec: S, raw: unknown): SettingValue<S> | undefined {
  return accept(spec, raw) as SettingValue<S> | undefined;
}

function accept(spec: SettingSpec, raw: unknown): unknown {
  switch (spec.type) {
    case 'boolean':
      return typeof raw === 'boolean' ? raw : undefined;
    case 'integer':
    case 'number': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) return undefined;
      const v = spec.type === 'integer' ? Math.round(raw) : raw;
      return Math.min(spec.maximum, Math.max(spec.minimum, v));
    }
    case 'array':
      return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : undefined;
    case 'string':
      if (typeof raw !== 'string') return undefined;
      if ('enum' in spec) return spec.enum.includes(raw) ? raw : undefined;
      return raw.trim() === '' ? undefined : raw.trim();
  }
}
