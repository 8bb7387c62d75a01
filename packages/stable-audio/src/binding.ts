import { AudiogenError, type DType, formatShape, type TensorInfo } from '@audiogen/core';

/** How one model tensor is found: by one of its usual names, or failing that by dtype/shape. */
export interface RoleSpec {
  readonly role: string;
  readonly names: readonly string[];
  /** Human description used in errors, e.g. "int64 [1,N] token ids". */
  readonly describe: string;
  readonly match: (t: TensorInfo, bound: Readonly<Record<string, TensorInfo>>) => boolean;
  readonly optional?: boolean;
  /** When several tensors match by shape, take the first in model order (Arm's ids/mask pair). */
  readonly byOrder?: boolean;
}

export const isFloat = (d: DType) => d === 'float32' || d === 'float16';
export const isInt = (d: DType) => d === 'int64' || d === 'int32';
export const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * Math.max(b, 1), 1);

export function describeTensors(ts: readonly TensorInfo[]): string {
  return ts.map((t) => `${t.name} ${t.dtype} ${formatShape(t.shape)}`).join(', ');
}

/**
 * Binds roles to tensors: first by name, then by dtype/shape among the tensors left.
 * Throws MODEL_MISMATCH naming the role that did not match and listing the model's tensors.
 */
export function bindRoles(
  label: string,
  kind: 'input' | 'output',
  tensors: readonly TensorInfo[],
  specs: readonly RoleSpec[],
): Record<string, TensorInfo> {
  const bound: Record<string, TensorInfo> = {};
  const used = new Set<string>();
  for (const s of specs) {
    const t = tensors.find((x) => s.names.includes(x.name) && !used.has(x.name));
    if (t) {
      if (!s.match(t, bound)) {
        // Generic names (args_0, output_0…) only hint; a wrong shape there falls through to shape matching.
        if (t.name !== s.names[0]) continue;
        throw new AudiogenError(
          'MODEL_MISMATCH',
          `${label}: ${kind} "${t.name}" is ${t.dtype} ${formatShape(t.shape)}, expected ${s.describe}`,
          { details: { model: label, tensor: t.name, role: s.role } },
        );
      }
      bound[s.role] = t;
      used.add(t.name);
    }
  }
  for (const s of specs) {
    if (bound[s.role]) continue;
    const cands = tensors.filter((x) => !used.has(x.name) && s.match(x, bound));
    if (cands.length === 1 || (cands.length > 1 && s.byOrder)) {
      bound[s.role] = cands[0]!;
      used.add(cands[0]!.name);
    } else if (cands.length > 1) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${label}: several ${kind}s could be the ${s.role} (${s.describe}): ${describeTensors(cands)}; ` +
          `name it "${s.names[0]}"`,
        { details: { model: label, role: s.role } },
      );
    } else if (!s.optional) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${label}: no ${kind} matches ${s.role} (${s.describe}); the model's ${kind}s are: ${describeTensors(tensors)}. ` +
          'Is this the right model file?',
        { details: { model: label, role: s.role, tensors: tensors.map((t) => t.name) } },
      );
    }
  }
  return bound;
}
