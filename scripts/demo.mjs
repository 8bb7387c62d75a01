// Placeholder until generation lands (see the stable-audio issue): prints what the SDK can do today.
console.log('audiogen demo: end-to-end generation is not built yet; see README.md "What works today".');
