// scripts/install-llama-cpp.sh: the prebuilt llama.cpp binary loads on this machine (run as a file: node-llama-cpp
// tests its binding in a child process, which an inline -e script cannot give it).
import {getLlama} from "node-llama-cpp";
const llama = await getLlama({gpu: false, build: "never", progressLogs: false, logLevel: "error"});
console.log(`llama.cpp loads: ${llama.cpuMathCores} cores, build ${llama.buildType}`);
