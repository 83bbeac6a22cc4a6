// scripts/llama-cpp-check.sh (a by-hand check, not part of the build): llama.cpp's perplexity of model.gguf (with and without adapter.gguf) on the ids JavaPerplexity wrote.
import {getLlama} from "node-llama-cpp";
import fs from "fs";
const dir = process.argv[2];
const {seq, ids} = JSON.parse(fs.readFileSync(`${dir}/ids.json`));
const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath: `${dir}/model.gguf`});
for (const withAdapter of [false, true]) {
  const ctxOpts = {contextSize: seq, batchSize: seq};
  if (withAdapter) ctxOpts.lora = {adapters: [{filePath: `${dir}/adapter.gguf`, scale: 1}]};
  const ctx = await model.createContext(ctxOpts);
  let nll = 0, n = 0;
  const seqObj = ctx.getSequence();
  for (let w = 0; w + seq <= ids.length; w += seq) {
    await seqObj.clearHistory(); // every window starts from an empty context, as in our evaluation
    const win = ids.slice(w, w + seq);
    const input = win.slice(0, seq - 1).map(t => [t, {generateNext: {probabilities: true, options: {temperature: 1, topK: 0, topP: 1, minP: 0}}}]);
    const out = await seqObj.controlledEvaluate(input);
    for (let t = 0; t < seq - 1; t++) { nll -= Math.log(out[t].next.probabilities.get(win[t + 1]) ?? 1e-30); n++; }
  }
  console.log(`llama.cpp ${withAdapter ? "model+adapter" : "model"}: ${n / (seq - 1)} windows of ${seq}, loss ${(nll / n).toFixed(5)}, perplexity ${Math.exp(nll / n).toFixed(3)}`);
  await ctx.dispose();
}
