// copydesk dashboard: submit an article, follow its events (SSE over fetch, so the API key
// can travel in a header), show the summary highlighted in the text, the sentiment of each
// sentence as a colour, the topic scores as bars, recent jobs and the queues.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "copydesk-api-key";
const TERMINAL = ["succeeded", "partially_succeeded", "failed", "cancelled"];

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (response.status === 401) {
    $("key-panel").hidden = false;
    throw new Error("this service needs an API key");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

function status(text) { $("status").textContent = text; }

// --- submitting -------------------------------------------------------------------------

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("api-key").value.trim());
  $("key-panel").hidden = true;
  refresh();
});

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (file) $("article").value = await file.text();
});

$("article-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const content = $("article").value;
  const isHtml = /^\s*</.test(content) && /<\/?(html|body|p|div|article)\b/i.test(content);
  const article = isHtml ? { html: content } : { text: content };
  if ($("title").value.trim()) article.title = $("title").value.trim();
  try {
    const job = await api("/v1/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify({ article, priority: "high" }),
    });
    status(`Job ${job.id} queued`);
    show(job.id);
  } catch (error) {
    status(`Not accepted: ${error.message}`);
  }
});

// --- following a job --------------------------------------------------------------------

async function show(jobId) {
  $("result").hidden = false;
  $("result").dataset.job = jobId;
  delete $("result").dataset.status;
  delete $("result").dataset.streamErrors;
  $("text").textContent = "";
  $("events").textContent = "";
  for (const id of ["sentiment", "summary"]) $(id).textContent = "waiting…";
  $("topics").innerHTML = "<li>waiting…</li>";
  articleText = null;
  const results = {};
  const opened = performance.now();
  let ended = null;
  for await (const event of events(jobId)) {
    if ($("result").dataset.job !== jobId) return;  // another job was chosen meanwhile
    logEvent(event, performance.now() - opened);
    if (event.type === "analysis.completed") {
      results[event.data.analysis] = event.data.result;
      render(jobId, results);
    }
    if (event.type.endsWith("_prepared")) await loadText(jobId, results);
    if (event.terminal) ended = event.data.status;
    status(`Job ${jobId}: ${event.type}`);
  }
  if (ended === null) return;  // the stream failed: events() said why
  if (articleText === null) await loadText(jobId, results);  // ended before it was prepared
  render(jobId, results);
  $("result").dataset.status = ended;
  refresh();
}

function logEvent(event, elapsed) {
  const item = document.createElement("li");
  item.dataset.type = event.type;
  const what = event.type === "analysis.completed" ? `${event.type} (${event.data.analysis})` : event.type;
  item.textContent = `${(elapsed / 1000).toFixed(2)} s  ${what}`;
  $("events").append(item);
}

// The job's events, live, from its SSE stream (read with fetch, so the API key travels in a
// header). The server ends a stream after the terminal event; one that ends before it (after
// COPYDESK_SSE_MAX_SECONDS) is resumed with Last-Event-ID, losing nothing. An error is shown,
// never hidden: the stream is retried a few times, then the live view says it stopped.
async function* events(jobId) {
  let last = null;
  let retryMs = 2000;
  for (let failures = 0; failures < 3; ) {
    let problem = null;
    try {
      const response = await fetch(`/v1/jobs/${jobId}/events`, {
        headers: headers(last ? { "Last-Event-ID": last } : {}),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        problem = `${response.status} ${body.code || ""}`.trim();
      } else {
        for await (const block of sseBlocks(response)) {
          if (block.retry) retryMs = Number(block.retry);
          if (!block.event) continue;  // a keep-alive comment
          last = block.id;
          const terminal = TERMINAL.includes(block.event.replace("job.", ""));
          yield { type: block.event, data: JSON.parse(block.data), terminal };
          if (terminal) return;
        }
        continue;  // the server ended this stream before the job ended: resume after `last`
      }
    } catch (error) {
      problem = error.message;
    }
    failures += 1;
    $("result").dataset.streamErrors = failures;
    status(`Job ${jobId}: live events interrupted (${problem}); retrying`);
    await new Promise((resume) => setTimeout(resume, retryMs));
  }
  status(`Job ${jobId}: live events stopped; choose the job again to resume`);
}

async function* sseBlocks(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;  // a comment (keep-alive)
          const at = line.indexOf(":");
          if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, "");
        }
        yield fields;
      }
    }
  } finally {
    reader.cancel().catch(() => {});  // a reader left early closes its stream on the server too
  }
}

let articleText = null;

async function loadText(jobId, results) {
  const response = await fetch(`/v1/jobs/${jobId}/text`, { headers: headers() });
  if (response.ok) {
    articleText = await response.text();
    render(jobId, results);
  }
}

// --- rendering --------------------------------------------------------------------------

function colour(score) {  // -1 red .. 0 neutral .. +1 green
  const strength = Math.min(1, Math.abs(score));
  const hue = score < 0 ? 0 : 130;
  return `hsla(${hue}, 70%, 55%, ${0.08 + 0.5 * strength})`;
}

function render(jobId, results) {
  if ($("result").dataset.job !== jobId) return;
  const sentiment = results.sentiment;
  if (sentiment && sentiment.status === "succeeded") {
    $("sentiment").textContent = `${sentiment.label} (${sentiment.score.toFixed(2)})`;
    $("sentiment").style.background = colour(sentiment.score);
  } else if (sentiment && sentiment.status === "failed") {
    $("sentiment").textContent = `failed: ${sentiment.error.code}`;
  }
  const topics = results.topics;
  if (topics && topics.status === "succeeded") {
    $("topics").innerHTML = "";
    for (const entry of topics.labels) {
      const item = document.createElement("li");
      item.className = "topic";
      item.textContent = `${entry.label} ${entry.score.toFixed(2)}`;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(2, entry.score * 100)}%`;
      item.append(bar);
      $("topics").append(item);
    }
  }
  const summary = results.summary;
  if (summary && summary.status === "succeeded") $("summary").textContent = summary.text;
  if (articleText !== null) renderText(summary, sentiment);
}

function renderText(summary, sentiment) {
  // offsets count code points, as Python does; Array.from splits by code point too
  const chars = Array.from(articleText);
  const chosen = new Set(
    (summary && summary.status === "succeeded" ? summary.sentences : []).map((s) => `${s.start}:${s.end}`),
  );
  const spans = sentiment && sentiment.status === "succeeded" && sentiment.sentences
    ? sentiment.sentences.map((s) => ({ start: s.start, end: s.end, score: s.score }))
    : [];
  for (const key of chosen) {
    const [start, end] = key.split(":").map(Number);
    if (!spans.some((s) => s.start === start && s.end === end)) spans.push({ start, end, score: null });
  }
  spans.sort((a, b) => a.start - b.start);
  const box = $("text");
  box.textContent = "";
  let at = 0;
  for (const span of spans) {
    if (span.start < at) continue;
    box.append(chars.slice(at, span.start).join(""));
    const element = document.createElement(chosen.has(`${span.start}:${span.end}`) ? "mark" : "span");
    element.className = element.tagName === "MARK" ? "sentence summary" : "sentence";
    element.dataset.start = span.start;
    element.dataset.end = span.end;
    if (span.score !== null) {
      element.style.backgroundColor = colour(span.score);
      element.title = `sentiment ${span.score.toFixed(2)}`;
    }
    element.textContent = chars.slice(span.start, span.end).join("");
    box.append(element);
    at = span.end;
  }
  box.append(chars.slice(at).join(""));
}

// --- recent jobs, queues, throughput ----------------------------------------------------

const finishedHistory = [];  // [time, jobs ended so far]

async function refresh() {
  try {
    const listed = await api("/v1/jobs?limit=10");
    $("jobs").innerHTML = "";
    for (const job of listed.jobs) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#";
      link.textContent = `${job.article.title || job.id.slice(0, 8)}: ${job.status}`;
      link.addEventListener("click", (event) => { event.preventDefault(); show(job.id); });
      item.append(link, ` (${job.created_at})`);
      $("jobs").append(item);
    }
  } catch (error) { /* the key panel is shown */ }
  try {
    const ready = await api("/v1/workers");
    const table = $("queues");
    table.innerHTML = "<caption>Waiting messages per queue and priority</caption>"
      + "<tr><th>queue</th><th>high</th><th>normal</th><th>low</th><th>workers</th></tr>";
    for (const [queue, depths] of Object.entries(ready.queues_by_priority || {})) {
      const row = table.insertRow();
      for (const cell of [queue, depths.high, depths.normal, depths.low, ready.workers[queue]]) {
        row.insertCell().textContent = cell;
      }
    }
    const metrics = await (await fetch("/metrics")).text();
    let ended = 0;
    for (const line of metrics.split("\n")) {
      const match = line.match(/^copydesk_jobs_total\{event="(\w+)"\} ([\d.e+]+)/);
      if (match && match[1] !== "accepted") ended += Number(match[2]);
    }
    const now = Date.now();
    finishedHistory.push([now, ended]);
    while (finishedHistory.length > 1 && now - finishedHistory[0][0] > 5 * 60 * 1000) finishedHistory.shift();
    const [then, before] = finishedHistory[0];
    const minutes = (now - then) / 60000;
    const rate = minutes > 0 ? ((ended - before) / minutes).toFixed(1) : "–";
    $("workers").textContent = `${ready.status}; dispatchers: ${ready.dispatchers}; `
      + `jobs finished per minute (last ${Math.max(1, Math.round(minutes))} min): ${rate}`;
  } catch (error) { $("workers").textContent = "queues unavailable"; }
}

refresh();
setInterval(refresh, 5000);
