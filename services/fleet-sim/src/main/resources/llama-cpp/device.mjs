// What a llama.cpp device runs: real llama.cpp (node-llama-cpp's prebuilt CPU build) serving the simulated GGUF
// devices of one agents process. It reads one JSON request per line on stdin and answers each with one JSON line on
// stdout, in order. Files are the ones the device has already verified (manifest signature, sizes, sha256).
//   {"op":"load","key":K,"model":PATH,"adapter":PATH}        load model.gguf with adapter.gguf as package K
//   {"op":"perplexity","key":K,"texts":[...],"window":W,"maxWindows":N}
//        the texts as the model was scored on them: each tokenized by the model's own tokenizer and followed by its
//        end-of-text token, all concatenated and cut into windows of W tokens (the tail dropped); every window from an
//        empty context; the loss is the mean negative log-likelihood of each next token
//   {"op":"generate","key":K,"prompt":TEXT,"tokens":N,"seed":S}   N sampled tokens after the prompt, and their speed
//   {"op":"unload","key":K}
// Answers: {"ok":true,...} or {"ok":false,"error":TEXT}. usage: node device.mjs [THREADS (default: the CPU cores)]
import {getLlama} from "node-llama-cpp";
import readline from "readline";

const llama = await getLlama({gpu: false, build: "never", progressLogs: false, logLevel: "error"});
// threads per evaluation, explicit: left to its default, llama.cpp oversubscribes small machines (25x slower on 2 cores)
const threads = Number(process.argv[2] ?? 0) || llama.cpuMathCores;
const packages = new Map(); // key -> {model, adapter, contextSize, window, peakState}

async function load({key, model: modelPath, adapter}) {
    if (packages.has(key)) return describe(packages.get(key));
    const model = await llama.loadModel({modelPath});
    const meta = model.fileInfo.metadata;
    const window = Number(meta?.coalora?.window_tokens ?? 0) || null;
    const contextSize = Math.min(model.trainContextSize, Math.max(window ?? 0, 128));
    const p = {model, adapter, contextSize, window, peakState: 0};
    packages.set(key, p);
    await withContext(p, async () => {}); // the adapter must fit the model: refused now, not on first use
    return describe(p);
}

// One context per request, disposed after it: memory stays one KV cache however many packages a process serves.
async function withContext(p, work) {
    const options = {contextSize: p.contextSize, batchSize: p.contextSize, sequences: 1, threads};
    if (p.adapter) options.lora = {adapters: [{filePath: p.adapter, scale: 1}]};
    const context = await p.model.createContext(options);
    try {
        const sequence = context.getSequence();
        const result = await work(sequence);
        p.peakState = Math.max(p.peakState, context.stateSize); // the KV cache at its fullest so far
        return result;
    } finally {
        await context.dispose();
    }
}

function describe(p) {
    return {
        modelBytes: p.model.size,
        contextBytes: p.peakState,
        contextSize: p.contextSize,
        window: p.window,
        adapter: Boolean(p.adapter),
    };
}

function loaded(key) {
    const p = packages.get(key);
    if (!p) throw new Error(`package ${key} is not loaded`);
    return p;
}

async function perplexity({key, texts, window, maxWindows}) {
    const p = loaded(key);
    const w = window ?? p.window;
    if (!Number.isInteger(w) || w < 2 || w > p.contextSize)
        throw new Error(`window ${w} must be 2..${p.contextSize} tokens`);
    const eot = p.model.tokens.eos;
    if (eot == null) throw new Error("the model declares no end-of-text token");
    const ids = [];
    const limit = maxWindows > 0 ? maxWindows * w : Infinity;
    for (const text of texts) {
        if (ids.length >= limit) break;
        ids.push(...p.model.tokenize(text), eot);
    }
    const windows = Math.floor(Math.min(ids.length, limit) / w);
    if (windows < 1) throw new Error(`the texts give ${ids.length} tokens, fewer than one window of ${w}`);
    const sampling = {temperature: 1, topK: 0, topP: 1, minP: 0};
    const started = process.hrtime.bigint();
    let nll = 0, n = 0;
    await withContext(p, async sequence => {
        for (let k = 0; k < windows; k++) {
            await sequence.clearHistory(); // every window from an empty context, as the front was scored
            const win = ids.slice(k * w, (k + 1) * w);
            const input = win.slice(0, w - 1).map(t => [t, {generateNext: {probabilities: true, options: sampling}}]);
            const out = await sequence.controlledEvaluate(input);
            for (let t = 0; t < w - 1; t++) {
                nll -= Math.log(out[t].next.probabilities.get(win[t + 1]) ?? 1e-30);
                n++;
            }
        }
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {...describe(p), windows, window: w, tokens: n, loss: nll / n, perplexity: Math.exp(nll / n), seconds};
}

// Decodes exactly `tokens` tokens, sampled, past an end-of-text too (a throughput probe: a sample that ends at once
// would measure nothing); the text shows where a document ended.
async function generate({key, prompt, tokens, seed}) {
    const p = loaded(key);
    const out = [];
    let seconds = 0;
    await withContext(p, async sequence => {
        const started = process.hrtime.bigint();
        const options = {temperature: 0.8, topK: 40, seed: seed ?? 1, yieldEogToken: true};
        for await (const token of sequence.evaluate(p.model.tokenize(prompt), options)) {
            out.push(token);
            if (out.length >= tokens) break;
        }
        seconds = Number(process.hrtime.bigint() - started) / 1e9;
    });
    const eot = p.model.tokens.eos;
    const text = out.map(t => t === eot ? " <|endoftext|>" : p.model.detokenize([t])).join("");
    return {...describe(p), text, tokens: out.length, seconds, tokensPerSecond: out.length / seconds};
}

async function unload({key}) {
    const p = packages.get(key);
    if (p) {
        packages.delete(key);
        await p.model.dispose();
    }
    return {};
}

const ops = {load, perplexity, generate, unload};
const lines = readline.createInterface({input: process.stdin, terminal: false});
for await (const line of lines) {
    if (!line.trim()) continue;
    let answer;
    try {
        const request = JSON.parse(line);
        const op = ops[request.op];
        if (!op) throw new Error(`unknown op ${JSON.stringify(request.op)}`);
        answer = {ok: true, ...(await op(request))};
    } catch (e) {
        answer = {ok: false, error: String(e?.message ?? e)};
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
}
for (const key of [...packages.keys()]) await unload({key});
