// copydesk dashboard: submit an article, follow its events (SSE over fetch, so the API key
// can travel in a header), show the summary highlighted in the text, the sentiment of each
// sentence as a colour, the entities underlined by type and the quotes in the text, the topic
// scores as bars, the entities, key phrases and quotes with their speakers, recent jobs and
// the queues. Article text only ever reaches the page as text (textContent, text nodes,
// attributes), never as markup: bodies come from anywhere.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "copydesk-api-key";
const TERMINAL = ["succeeded", "partially_succeeded", "failed", "cancelled"];
const PANELS = ["entities", "keyphrases", "quotes"];  // each with a "<name>-status" line

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
  const analyses = Array.from(document.querySelectorAll("#analyses input:checked"), (box) => box.value);
  if (!analyses.length) {
    status("Choose at least one analysis");
    return;
  }
  try {
    const job = await api("/v1/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify({ article, analyses, priority: "high" }),
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
  for (const name of PANELS) $(`${name}-status`).textContent = "waiting…";
  $("entities").hidden = true;
  $("entities").tBodies[0].replaceChildren();
  for (const id of ["keyphrases", "quotes"]) $(id).replaceChildren();
  articleText = null;
  const results = {};
  api(`/v1/jobs/${jobId}`).then((job) => {  // the analyses the job asked for; the rest wait for none
    if ($("result").dataset.job !== jobId) return;
    for (const name of PANELS) {
      if (!job.analyses.includes(name)) $(`${name}-status`).textContent = "not requested";
    }
  }).catch(() => {});
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
  renderEntities(results.entities);
  renderKeyphrases(results.keyphrases);
  renderQuotes(results.quotes);
  if (articleText !== null) renderText(results);
}

function succeeded(result) { return Boolean(result && result.status === "succeeded"); }

// Whether a panel has its result; says "failed: <code>" for a failed one.
function panelReady(name, result) {
  if (!result) return false;
  if (result.status !== "succeeded") {
    $(`${name}-status`).textContent = `${result.status}: ${result.error ? result.error.code : ""}`;
    return false;
  }
  return true;
}

function entityTip(entity) {
  const mentions = entity.count === 1 ? "1 mention" : `${entity.count} mentions`;
  const feeling = entity.sentiment
    ? `sentiment ${entity.sentiment.label} (${entity.sentiment.score.toFixed(2)})`
    : "no sentiment";
  return `${entity.name}: ${entity.type}, ${mentions}, salience ${entity.salience.toFixed(3)}, ${feeling}`;
}

function renderEntities(result) {
  if (!panelReady("entities", result)) return;
  const shown = result.entities.length;
  $("entities-status").textContent = shown
    ? `${shown} of ${result.entities_total} entities` + (result.coverage < 1 ? `; parsed ${(100 * result.coverage).toFixed(0)}% of the text` : "")
    : "none found";
  const body = $("entities").tBodies[0];
  body.replaceChildren();
  for (const entity of result.entities) {
    const row = body.insertRow();
    row.className = "entity";
    row.dataset.type = entity.type;
    row.dataset.name = entity.name;
    row.title = entityTip(entity);
    const name = row.insertCell();
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.dataset.type = entity.type;
    swatch.textContent = entity.type;
    name.append(entity.name, " ", swatch);
    row.insertCell().textContent = entity.count;
    row.insertCell().textContent = entity.salience.toFixed(3);
    const feeling = row.insertCell();
    feeling.className = "feeling";
    if (entity.sentiment) {
      feeling.textContent = `${entity.sentiment.label} ${entity.sentiment.score.toFixed(2)}`;
      feeling.style.background = colour(entity.sentiment.score);
    }
    row.addEventListener("mouseenter", () => focusEntity(entity.name, true));
    row.addEventListener("mouseleave", () => focusEntity(entity.name, false));
  }
  $("entities").hidden = shown === 0;
}

function focusEntity(name, on) {  // compared as data, never put in a selector
  for (const mark of document.querySelectorAll("#text .entity")) {
    if (mark.dataset.entity === name) mark.classList.toggle("focus", on);
  }
}

function renderKeyphrases(result) {
  if (!panelReady("keyphrases", result)) return;
  $("keyphrases-status").textContent = result.keyphrases.length ? "" : "none found";
  const list = $("keyphrases");
  list.replaceChildren();
  for (const phrase of result.keyphrases) {
    const item = document.createElement("li");
    item.className = "keyphrase";
    item.append(phrase.text, ` ${phrase.score.toFixed(2)}`);
    item.title = phrase.count === 1 ? "1 mention" : `${phrase.count} mentions`;
    if (phrase.entity) {
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.dataset.type = phrase.entity;
      swatch.textContent = phrase.entity;
      item.append(" ", swatch);
    }
    list.append(item);
  }
}

function speakerName(quote) {
  return quote.speaker ? quote.speaker.name : "unattributed";
}

function renderQuotes(result) {
  if (!panelReady("quotes", result)) return;
  $("quotes-status").textContent = result.quotes.length ? "" : "none found";
  const list = $("quotes");
  list.replaceChildren();
  for (const quote of result.quotes) {
    const item = document.createElement("li");
    item.className = `quote ${quote.type}`;
    item.dataset.start = quote.start;
    item.dataset.end = quote.end;
    const said = document.createElement("blockquote");
    said.className = "quote-text";
    said.textContent = quote.text;
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.dataset.attributed = quote.speaker ? "yes" : "no";
    if (quote.speaker) speaker.dataset.type = quote.speaker.type;
    speaker.textContent = speakerName(quote);
    const cue = document.createElement("span");
    cue.className = "cue";
    cue.textContent = quote.cue ? quote.cue.text : "no cue";
    const by = document.createElement("div");
    by.className = "by";
    by.append("— ", speaker);
    if (!quote.speaker && quote.attribution) by.append(` (“${quote.attribution.text}”)`);
    by.append("; cue: ", cue, `; ${quote.type}`);
    item.append(said, by);
    list.append(item);
  }
}

// --- the text, with its layers --------------------------------------------------------------

// Offsets count code points, as Python does. JavaScript strings count UTF-16 units, in which
// an emoji or any other astral character is two: the text is split with Array.from (by code
// point) and sliced as an array, so such a character never shifts a highlight after it.
function renderText(results) {
  const chars = Array.from(articleText);
  const layers = [sentenceLayer(results), quoteLayer(results.quotes), entityLayer(results.entities)];
  const box = $("text");
  box.replaceChildren();
  build(box, chars, 0, chars.length, layers.filter((layer) => layer.spans.length));
}

// Append chars[start:end) to `parent`: the first layer's spans as elements (each clipped to
// the range, so a quote running across sentences becomes one piece per sentence), and inside
// and between them the next layers, down to text nodes.
function build(parent, chars, start, end, layers) {
  if (start >= end) return;
  if (!layers.length) {
    parent.append(chars.slice(start, end).join(""));
    return;
  }
  const [layer, ...inner] = layers;
  let at = start;
  for (let i = firstEndingAfter(layer.spans, start); i < layer.spans.length; i += 1) {
    const span = layer.spans[i];
    if (span.start >= end) break;
    const from = Math.max(span.start, at);
    const to = Math.min(span.end, end);
    if (to <= from) continue;
    build(parent, chars, at, from, inner);
    const element = layer.make(span);
    build(element, chars, from, to, inner);
    parent.append(element);
    at = to;
  }
  build(parent, chars, at, end, inner);
}

function firstEndingAfter(spans, offset) {  // spans sorted and apart: their ends rise too
  let low = 0;
  let high = spans.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (spans[middle].end <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
}

function apart(spans) {  // sorted by start; a span overlapping the one kept before it is left out
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept = [];
  for (const span of spans) {
    if (span.end > span.start && (!kept.length || span.start >= kept[kept.length - 1].end)) kept.push(span);
  }
  return kept;
}

function sentenceLayer(results) {
  const { summary, sentiment } = results;
  const chosen = new Set((succeeded(summary) ? summary.sentences : []).map((s) => `${s.start}:${s.end}`));
  const spans = succeeded(sentiment) && sentiment.sentences
    ? sentiment.sentences.map((s) => ({ start: s.start, end: s.end, score: s.score }))
    : [];
  for (const key of chosen) {
    const [start, end] = key.split(":").map(Number);
    if (!spans.some((s) => s.start === start && s.end === end)) spans.push({ start, end, score: null });
  }
  return {
    spans: apart(spans),
    make(span) {
      const element = document.createElement(chosen.has(`${span.start}:${span.end}`) ? "mark" : "span");
      element.className = element.tagName === "MARK" ? "sentence summary" : "sentence";
      element.dataset.start = span.start;
      element.dataset.end = span.end;
      if (span.score !== null) {
        element.style.backgroundColor = colour(span.score);
        element.title = `sentiment ${span.score.toFixed(2)}`;
      }
      return element;
    },
  };
}

function quoteLayer(result) {
  const quotes = succeeded(result) ? result.quotes : [];
  return {
    spans: apart(quotes.map((quote) => ({ start: quote.start, end: quote.end, quote }))),
    make({ quote }) {
      const element = document.createElement("span");
      element.className = `quote ${quote.type}`;
      element.dataset.start = quote.start;
      element.dataset.end = quote.end;
      element.dataset.speaker = speakerName(quote);
      element.title = `${quote.type} quote: ${speakerName(quote)}`
        + (quote.cue ? `, cue "${quote.cue.text}"` : ", no cue");
      return element;
    },
  };
}

function entityLayer(result) {
  const entities = succeeded(result) ? result.entities : [];
  const spans = entities.flatMap((entity) => entity.mentions.map((m) => ({ start: m.start, end: m.end, entity })));
  return {
    spans: apart(spans),
    make({ start, end, entity }) {
      const element = document.createElement("mark");
      element.className = "entity";
      element.dataset.type = entity.type;
      element.dataset.entity = entity.name;
      element.dataset.start = start;
      element.dataset.end = end;
      element.title = entityTip(entity);
      return element;
    },
  };
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
    let rate = "jobs finished per minute: not shown (/metrics is closed to this key)";
    const response = await fetch("/metrics", { headers: headers() });
    if (response.ok) {
      let ended = 0;
      for (const line of (await response.text()).split("\n")) {
        const match = line.match(/^copydesk_jobs_total\{event="(\w+)"\} ([\d.e+]+)/);
        if (match && match[1] !== "accepted") ended += Number(match[2]);
      }
      const now = Date.now();
      finishedHistory.push([now, ended]);
      while (finishedHistory.length > 1 && now - finishedHistory[0][0] > 5 * 60 * 1000) finishedHistory.shift();
      const [then, before] = finishedHistory[0];
      const minutes = (now - then) / 60000;
      const perMinute = minutes > 0 ? ((ended - before) / minutes).toFixed(1) : "–";
      rate = `jobs finished per minute (last ${Math.max(1, Math.round(minutes))} min): ${perMinute}`;
    }
    $("workers").textContent = `${ready.status}; dispatchers: ${ready.dispatchers}; ${rate}`;
  } catch (error) { $("workers").textContent = "queues unavailable"; }
}

refresh();
setInterval(refresh, 5000);
