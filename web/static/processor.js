// Keyboardia's AudioWorkletProcessor: instantiates the engine's wasm module (raw exports, no JS
// glue) inside the worklet scope and calls it once per render quantum.
//
// Messages (port.onmessage, never inside process()): parse and swap happen here, so process()
// only calls kb_process and copies two preallocated views into the outputs.
//   {t:"session", json}                      the session document (JSON text)
//   {t:"timeline", json}                     the timeline (core's Timeline JSON: the room's, or the
//                                             page's own when alone), its playback included:
//                                             the pattern or song, a queued switch, the fill switch
//   {t:"model", offsetMs, ratio}              server ms = offsetMs + context ms * ratio
//   {t:"seed", hi, lo}                        the session's dice seed
//   {t:"mixer", slot, mute, solo}
//   {t:"sample", id, frames: Float32Array, rate}
//   {t:"preview", kind, index, id, volume, pan} the sound picker's preview: kind 0 built-in sound
//                                             `index`, 1 synth preset `index`, 2 sample `id`
//   {t:"levels"}                              answers {t:"levels", levels: Float32Array}: each
//                                             track's peak then the master's since the last ask
//                                             (the page's meters poll; process() never posts)
//   {t:"capture", frames}                     test hook: capture the next `frames` frames
//   {t:"captured"}                            test hook: answers {t:"captured", done, first, left, right,
//                                             times: [index in capture, played server ms, rate] per block}
//   {t:"bench", json, blocks}                 benchmark: answers {t:"bench", ms, blocks}
//   {t:"status"}                              answers {t:"status", frame, beat, rate, firstAudible}
class KeyboardiaProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const m = options.processorOptions.module;
    const module = m instanceof WebAssembly.Module ? m : new WebAssembly.Module(m);
    this.x = new WebAssembly.Instance(module, {}).exports;
    this.x.kb_init(sampleRate);
    this.captureTarget = 0;
    this.capturePtr = 0;
    this.views();
    this.port.onmessage = (e) => this.message(e.data);
    this.port.postMessage({ t: "ready", rate: sampleRate });
  }

  // (Re)creates the output views; only needed after the wasm memory grew (which happens only
  // in message handlers, never in process()).
  views() {
    this.buffer = this.x.memory.buffer;
    this.left = new Float32Array(this.buffer, this.x.kb_out_left(), 128);
    this.right = new Float32Array(this.buffer, this.x.kb_out_right(), 128);
  }

  // Writes `text` as UTF-8 into the module's scratch buffer; returns its length in bytes.
  // (TextEncoder does not exist in the worklet scope.)
  scratch(text) {
    const utf8 = unescape(encodeURIComponent(text));
    const ptr = this.x.kb_scratch(utf8.length);
    const bytes = new Uint8Array(this.x.memory.buffer, ptr, utf8.length);
    for (let i = 0; i < utf8.length; i++) bytes[i] = utf8.charCodeAt(i);
    return utf8.length;
  }

  message(d) {
    const x = this.x;
    switch (d.t) {
      case "session": {
        const rc = x.kb_set_session(this.scratch(d.json));
        if (rc !== 0) this.port.postMessage({ t: "error", what: "session", rc });
        break;
      }
      case "timeline": {
        const rc = x.kb_set_timeline(this.scratch(d.json));
        if (rc !== 0) this.port.postMessage({ t: "error", what: "timeline", rc });
        break;
      }
      case "model":
        x.kb_set_model(d.offsetMs, d.ratio);
        break;
      case "seed":
        x.kb_set_seed(d.hi >>> 0, d.lo >>> 0);
        break;
      case "mixer":
        x.kb_set_mixer(d.slot, d.mute ? 1 : 0, d.solo ? 1 : 0);
        break;
      case "sample": {
        const ptr = x.kb_sample_frames(d.frames.length);
        new Float32Array(x.memory.buffer, ptr, d.frames.length).set(d.frames);
        const rc = x.kb_commit_sample(this.scratch(d.id), d.rate);
        this.port.postMessage({ t: "sample", id: d.id, rc });
        break;
      }
      case "preview": {
        const len = d.kind === 2 ? this.scratch(d.id) : d.index;
        x.kb_preview(d.kind, len, d.volume, d.pan);
        break;
      }
      case "levels":
        this.port.postMessage({ t: "levels",
          levels: new Float32Array(x.memory.buffer, x.kb_take_levels(), 17).slice() });
        break;
      case "capture":
        this.captureTarget = d.frames;
        this.capturePtr = x.kb_capture_start(d.frames);
        break;
      case "captured": {
        const n = x.kb_capture_len();
        const done = n >= this.captureTarget && this.captureTarget > 0;
        const reply = { t: "captured", done, frames: n, first: x.kb_capture_first_frame(), rate: sampleRate };
        if (done) {
          const mem = x.memory.buffer;
          reply.left = new Float32Array(mem, this.capturePtr, n).slice();
          reply.right = new Float32Array(mem, this.capturePtr + 4 * this.captureTarget, n).slice();
          reply.times = new Float64Array(mem, x.kb_capture_times(), x.kb_capture_times_len()).slice();
        }
        this.port.postMessage(reply);
        break;
      }
      case "bench": {
        const len = this.scratch(d.json);
        const t0 = Date.now();
        const blocks = x.kb_bench(len, d.blocks);
        this.port.postMessage({ t: "bench", ms: Date.now() - t0, blocks, rate: sampleRate });
        break;
      }
      case "status":
        this.port.postMessage({ t: "status", frame: currentFrame, beat: x.kb_beat(), rate: sampleRate,
          firstAudible: x.kb_first_audible_frame() });
        break;
    }
    if (this.x.memory.buffer !== this.buffer) this.views();
  }

  process(inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    this.x.kb_process(n, currentFrame);
    if (n === 128) {
      out[0].set(this.left);
      if (out.length > 1) out[1].set(this.right);
    } else {
      // Not a 128-frame quantum (no browser does this today): slower path with fresh views.
      const mem = this.x.memory.buffer;
      out[0].set(new Float32Array(mem, this.x.kb_out_left(), n));
      if (out.length > 1) out[1].set(new Float32Array(mem, this.x.kb_out_right(), n));
    }
    return true;
  }
}

registerProcessor("keyboardia", KeyboardiaProcessor);

// The microphone's recorder: copies its input into buffers allocated when a take starts (at most
// `max` frames, the 5 s take limit), and keeps the peak level. It never posts from process():
// the page polls ({t:"poll"} -> {t:"level", frames, peak, full}) and stops the take
// ({t:"stop"} -> {t:"take", left, right, rate}).
class KeyboardiaInput extends AudioWorkletProcessor {
  constructor() {
    super();
    this.left = null;
    this.right = null;
    this.frames = 0;
    this.peak = 0;
    this.recording = false;
    this.port.onmessage = (e) => this.message(e.data);
  }

  message(d) {
    switch (d.t) {
      case "start":
        this.left = new Float32Array(d.max);
        this.right = new Float32Array(d.max);
        this.frames = 0;
        this.peak = 0;
        this.recording = true;
        break;
      case "poll":
        this.port.postMessage({ t: "level", frames: this.frames, peak: this.peak,
          full: this.left !== null && this.frames >= this.left.length });
        this.peak = 0;
        break;
      case "stop": {
        this.recording = false;
        const n = this.frames;
        const left = this.left ? this.left.slice(0, n) : new Float32Array(0);
        const right = this.right ? this.right.slice(0, n) : new Float32Array(0);
        this.port.postMessage({ t: "take", left, right, rate: sampleRate });
        break;
      }
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const l = input[0];
    const r = input.length > 1 ? input[1] : input[0];
    for (let i = 0; i < l.length; i++) {
      const a = Math.abs(l[i]);
      if (a > this.peak) this.peak = a;
    }
    if (this.recording && this.left !== null) {
      const n = Math.min(l.length, this.left.length - this.frames);
      if (n > 0) {
        for (let i = 0; i < n; i++) {
          this.left[this.frames + i] = l[i];
          this.right[this.frames + i] = r[i];
        }
        this.frames += n;
      }
    }
    return true;
  }
}

registerProcessor("keyboardia-input", KeyboardiaInput);
