import type { Graph, GraphTensor, Operator } from '@audiogen/core/tflite';

/** The addon's one-pass Snake kernel (native/snake.h): custom code and version. */
export const SNAKE_OP = 'AudiogenSnake';
export const SNAKE_OP_VERSION = 1;
/** The same kernel reading the two operands of the residual ADD whose sum only the Snake reads: snake(a + b). */
export const ADD_SNAKE_OP = 'AudiogenAddSnake';
export const ADD_SNAKE_OP_VERSION = 1;
const CUSTOM = 32;

/** How many Snake activations a model holds, and the graph with each one fused into a single op. */
export interface SnakeFusion {
  graph: Graph;
  fused: number;
  /** Of those, how many also took in the ADD that produces their input (ADD_SNAKE_OP). */
  withAdd: number;
}

const noActivation = (op: Operator) => !op.options || (op.options.fused_activation_function ?? 0) === 0;

/** Each tensor's readers: the indices of the ops that take it as an input, in graph order. */
function readersOf(sg: Graph['subgraphs'][number]): Map<number, number[]> {
  const readers = new Map<number, number[]>();
  sg.operators.forEach((op, i) => {
    for (const t of op.inputs) {
      if (t < 0) continue;
      const list = readers.get(t);
      if (list) list.push(i);
      else readers.set(t, [i]);
    }
  });
  return readers;
}

/**
 * Finds the Snake activation y = x + inv_beta * sin(alpha * x)^2 (BigVGAN/Oobleck decoders) as converters
 * write it, MUL(x, alpha) → SIN → SQUARE → MUL(·, inv_beta) → ADD(x, ·), and replaces each with one
 * AudiogenSnake custom op (inputs x, alpha, inv_beta): one pass over the activation instead of five.
 * Only where the result is the same computation: float32 throughout, alpha and inv_beta constants of
 * C = x's last dimension values, no fused activations, every intermediate read by the next op alone and
 * not a graph output. The dead intermediate tensors stay in the tensor list (no op touches them, so
 * nothing allocates them; signatures keep their indices). Returns null when there is nothing to fuse.
 */
export function fuseSnakes(
  graph: Graph,
  isConstant: (subgraph: number, tensor: number) => boolean,
): SnakeFusion | null {
  let fused = 0;
  const subgraphs = graph.subgraphs.map((sg, si) => {
    const readers = readersOf(sg);
    const outputs = new Set(sg.outputs);
    const tensor = (t: number): GraphTensor | undefined => sg.tensors[t];
    // The one op reading intermediate `t`, when `t` is a float32 temporary read only there.
    const onlyReader = (t: number): number | undefined => {
      const r = readers.get(t);
      if (r?.length !== 1 || outputs.has(t) || tensor(t)?.type !== 'FLOAT32') return undefined;
      return r[0];
    };
    const channelVector = (t: number, c: number | undefined) => {
      const v = tensor(t);
      if (v?.type !== 'FLOAT32' || !isConstant(si, t) || c === undefined || c <= 0) return false;
      return v.shape.reduce((a, d) => a * d, 1) === c && v.shape.at(-1) === c;
    };
    const removed = new Set<number>();
    const replaced = new Map<number, Operator>();
    sg.operators.forEach((m1, i) => {
      if (m1.op !== 'MUL' || m1.inputs.length !== 2 || m1.outputs.length !== 1 || !noActivation(m1)) return;
      const [a0, a1] = m1.inputs as [number, number];
      const [x, alpha] = isConstant(si, a1) ? [a0, a1] : [a1, a0];
      const xt = tensor(x);
      // Not on a graph input or output: those may be bound to caller memory, which LiteRT hands to a
      // custom op only when 64-byte aligned.
      if (xt?.type !== 'FLOAT32' || isConstant(si, x) || sg.inputs.includes(x)) return;
      const c = (xt.shape_signature ?? xt.shape).at(-1);
      if (!channelVector(alpha, c)) return;
      // The op reading `t` alone, when it is `name` with one output.
      const next = (t: number | undefined, name: string): [number, Operator] | undefined => {
        const k = t === undefined ? undefined : onlyReader(t);
        const op = k === undefined ? undefined : sg.operators[k];
        return op?.op === name && op.outputs.length === 1 ? [k as number, op] : undefined;
      };
      const sin = next(m1.outputs[0], 'SIN');
      const sq = sin && next(sin[1].outputs[0], 'SQUARE');
      const m2 = sq && next(sq[1].outputs[0], 'MUL');
      if (!sq || !m2 || m2[1].inputs.length !== 2 || !noActivation(m2[1])) return;
      const invBeta = m2[1].inputs[0] === sq[1].outputs[0] ? m2[1].inputs[1] : m2[1].inputs[0];
      if (invBeta === undefined || !channelVector(invBeta, c)) return;
      const ad = next(m2[1].outputs[0], 'ADD');
      if (!sin || !ad || !noActivation(ad[1])) return;
      const [si1, sq1, m21, ad1] = [sin[0], sq[0], m2[0], ad[0]];
      if (!ad[1].inputs.includes(x) || !ad[1].inputs.includes(m2[1].outputs[0] as number)) return;
      const out = ad[1].outputs[0] as number;
      if (tensor(out)?.type !== 'FLOAT32' || outputs.has(out)) return;
      // In MUL's place: x exists there (MUL read it), and the output's readers all come after the ADD.
      for (const k of [si1, sq1, m21, ad1]) removed.add(k);
      replaced.set(i, {
        op: 'CUSTOM',
        builtin_code: CUSTOM,
        custom_code: SNAKE_OP,
        version: SNAKE_OP_VERSION,
        inputs: [x, alpha, invBeta],
        outputs: [out],
      });
      fused++;
    });
    if (replaced.size === 0) return sg;
    const operators = sg.operators.flatMap((op, i) => (removed.has(i) ? [] : [replaced.get(i) ?? op]));
    return { ...sg, operators };
  });
  if (fused === 0) return null;
  const withAdd = fuseResidualAdds(subgraphs, isConstant);
  return { graph: { ...graph, subgraphs: withAdd.subgraphs }, fused, withAdd: withAdd.count };
}

/**
 * Folds ADD(a, b) into the fused Snake that alone reads its sum (an Oobleck decoder block's last residual
 * connection and the next block's Snake): one AudiogenAddSnake op in the ADD's place, snake(a + b) in one pass
 * with no sum written. A sum that other ops read too (the residual stream inside a block) is left alone:
 * writing it from the kernel as well measured 0.99× the decoder's time but +263 MB of peak memory (the
 * 1×1 conv's output becomes one more live activation). Only a float32 ADD of two computed tensors shaped
 * like its output (no constant, no broadcast, no graph input or output) without a fused activation.
 */
function fuseResidualAdds(
  subgraphs: Graph['subgraphs'],
  isConstant: (subgraph: number, tensor: number) => boolean,
): { subgraphs: Graph['subgraphs']; count: number } {
  let count = 0;
  const out = subgraphs.map((sg, si) => {
    const readers = readersOf(sg);
    const same = (t: number, like: number) => {
      const a = sg.tensors[t];
      const b = sg.tensors[like];
      const sig = (x: typeof a) => (x?.shape_signature ?? x?.shape ?? []).join(',');
      return a?.type === 'FLOAT32' && sig(a) === sig(b) && a.shape.join(',') === b?.shape.join(',');
    };
    const removed = new Set<number>();
    const replaced = new Map<number, Operator>();
    sg.operators.forEach((add, i) => {
      if (add.op !== 'ADD' || add.inputs.length !== 2 || add.outputs.length !== 1 || !noActivation(add))
        return;
      const sum = add.outputs[0] as number;
      const [a, b] = add.inputs as [number, number];
      // Graph inputs and outputs may be bound to caller memory (see fuseSnakes): never read or written here.
      const io = (t: number) => sg.inputs.includes(t) || sg.outputs.includes(t);
      const computed = (t: number) => !isConstant(si, t) && !io(t) && same(t, sum);
      if (sg.tensors[sum]?.type !== 'FLOAT32' || io(sum) || !computed(a) || !computed(b)) return;
      const only = readers.get(sum);
      const at = only?.length === 1 ? only[0] : undefined;
      const snake = at === undefined ? undefined : sg.operators[at];
      if (snake?.custom_code !== SNAKE_OP || snake.inputs[0] !== sum || removed.has(at as number)) return;
      removed.add(at as number);
      replaced.set(i, {
        op: 'CUSTOM',
        builtin_code: CUSTOM,
        custom_code: ADD_SNAKE_OP,
        version: ADD_SNAKE_OP_VERSION,
        inputs: [a, b, ...snake.inputs.slice(1)],
        outputs: [...snake.outputs],
      });
      count++;
    });
    if (replaced.size === 0) return sg;
    return {
      ...sg,
      operators: sg.operators.flatMap((op, i) => (removed.has(i) ? [] : [replaced.get(i) ?? op])),
    };
  });
  return { subgraphs: out, count };
}
