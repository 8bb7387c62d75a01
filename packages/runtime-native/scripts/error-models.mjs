// Graphs (core's tflite writer format) that make LiteRT fail in known ways, shared by
// src/litert-errors.test.ts and the plain-node platform check (scripts/check-fixtures.mjs).

/** x [1,4] → ADD/MUL(x, x) of an op version LiteRT does not have: the interpreter cannot be built. */
export function unknownVersionModel(op, version) {
  return {
    version: 3,
    description: `${op} v${version}`,
    metadata: [],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [1, 4] },
          { name: 'y', type: 'FLOAT32', shape: [1, 4] },
        ],
        inputs: [0],
        outputs: [1],
        operators: [
          {
            op,
            builtin_code: op === 'ADD' ? 0 : 18,
            version,
            inputs: [0, 0],
            outputs: [1],
            options: { type: op === 'ADD' ? 'AddOptions' : 'MulOptions' },
          },
        ],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 0 }],
        outputs: [{ name: 'y', tensor_index: 1 }],
      },
    ],
  };
}
