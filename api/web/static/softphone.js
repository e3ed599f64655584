// Softphone: the browser plays the part of a Twilio Media Streams gateway, so a nurse can take a
// test follow-up call with a headset. Microphone -> 8 kHz mu-law 20 ms frames -> /phone/stream;
// the service's mu-law audio is played back; each mark is echoed once the audio before it has played;
// "clear" (the patient spoke over the prompt) stops playback at once.
"use strict";

(function () {
  const form = document.getElementById("softphone-form");
  if (!form) return;
  const statusEl = document.getElementById("softphone-status");
  const callButton = document.getElementById("softphone-call");
  const hangButton = document.getElementById("softphone-hangup");
  const counters = { sent: document.getElementById("frames-sent"), heard: document.getElementById("frames-heard") };
  const FRAME = 160;                     // 20 ms at 8 kHz
  let ws = null, ctx = null, source = null, processor = null, stream = null;
  let playHead = 0, playing = [], pendingMarks = [], sent = 0, heard = 0, outBuffer = [];
  const streamSid = "MZsoftphone" + Math.random().toString(16).slice(2, 10);

  function say(key) { statusEl.textContent = statusEl.dataset[key] || key; statusEl.dataset.state = key; }

  // G.711 mu-law, as Twilio sends it.
  function linearToMulaw(sample) {
    const BIAS = 0x84, CLIP = 32635;
    let s = Math.max(-1, Math.min(1, sample)) * 32767;
    const sign = s < 0 ? 0x80 : 0;
    if (sign) s = -s;
    s = Math.min(s, CLIP) + BIAS;
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; exponent--, mask >>= 1) {}
    const mantissa = (s >> (exponent + 3)) & 0x0f;
    return ~(sign | (exponent << 4) | mantissa) & 0xff;
  }
  function mulawToLinear(byte) {
    const u = ~byte & 0xff, sign = u & 0x80, exponent = (u >> 4) & 0x07, mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return (sign ? -magnitude : magnitude) / 32768;
  }
  function toBase64(bytes) { let s = ""; bytes.forEach(b => { s += String.fromCharCode(b); }); return btoa(s); }
  function fromBase64(text) { const s = atob(text); const out = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; }

  function send(message) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message)); }

  function onMicrophone(event) {
    const input = event.inputBuffer.getChannelData(0);
    const ratio = ctx.sampleRate / 8000;
    for (let i = 0; i < input.length / ratio; i++) {
      // Averaging over each output sample's span is a cheap low-pass before decimation.
      const start = Math.floor(i * ratio), end = Math.min(input.length, Math.floor((i + 1) * ratio));
      let sum = 0; for (let j = start; j < end; j++) sum += input[j];
      outBuffer.push(linearToMulaw(end > start ? sum / (end - start) : 0));
    }
    while (outBuffer.length >= FRAME) {
      const frame = outBuffer.splice(0, FRAME);
      send({ event: "media", streamSid, media: { track: "inbound", payload: toBase64(frame) } });
      counters.sent.textContent = String(++sent);
    }
  }

  function play(bytes) {
    const buffer = ctx.createBuffer(1, bytes.length, 8000);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < bytes.length; i++) data[i] = mulawToLinear(bytes[i]);
    const node = ctx.createBufferSource();
    node.buffer = buffer; node.connect(ctx.destination);
    playHead = Math.max(playHead, ctx.currentTime);
    node.start(playHead);
    playHead += buffer.duration;
    playing.push(node);
    node.onended = () => { playing = playing.filter(n => n !== node); };
    counters.heard.textContent = String(++heard);
  }

  function echoMarks() {
    const now = ctx ? ctx.currentTime : 0;
    while (pendingMarks.length && pendingMarks[0].at <= now) {
      const mark = pendingMarks.shift();
      send({ event: "mark", streamSid, mark: { name: mark.name } });
      if (mark.name === "hangup") hangUp("ended");
    }
  }

  function onMessage(event) {
    const message = JSON.parse(event.data);
    if (message.event === "media") play(fromBase64(message.media.payload));
    else if (message.event === "mark") pendingMarks.push({ name: message.mark.name, at: Math.max(playHead, ctx.currentTime) });
    else if (message.event === "clear") {
      playing.forEach(n => { try { n.stop(); } catch (e) { /* already stopped */ } });
      playing = []; playHead = ctx.currentTime;
      pendingMarks.forEach(m => { m.at = ctx.currentTime; });
    }
  }

  async function start(evt) {
    evt.preventDefault();
    callButton.disabled = true;
    say("connecting");
    try {
      const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      if (!response.ok) { say("refused"); callButton.disabled = false; return; }
      const grant = await response.json();
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
      ctx = new AudioContext();
      source = ctx.createMediaStreamSource(stream);
      processor = ctx.createScriptProcessor(2048, 1, 1);
      processor.onaudioprocess = onMicrophone;
      source.connect(processor); processor.connect(ctx.destination);
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      ws = new WebSocket(scheme + location.host + grant.stream_path);
      ws.onopen = () => {
        send({ event: "connected", protocol: "Call", version: "1.0.0" });
        send({ event: "start", streamSid, start: { streamSid, callSid: "CAsoftphone", tracks: ["inbound"],
          customParameters: { call_token: grant.call_token },
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } } });
        say("in_call"); hangButton.disabled = false;
      };
      ws.onmessage = onMessage;
      ws.onclose = () => hangUp("ended");
      window.setInterval(echoMarks, 50);
    } catch (err) {
      say("no_microphone"); callButton.disabled = false;
    }
  }

  function hangUp(state) {
    if (ws && ws.readyState === WebSocket.OPEN) { send({ event: "stop", streamSid }); ws.close(); }
    ws = null;
    if (processor) processor.disconnect();
    if (stream) stream.getTracks().forEach(t => t.stop());
    processor = null; stream = null;
    say(state || "ended");
    hangButton.disabled = true; callButton.disabled = false;
  }

  form.addEventListener("submit", start);
  hangButton.addEventListener("click", () => hangUp("ended"));
})();
