// The lab's page: a drawing pad, and what one or two runs make of the drawing, live.
// Plain JavaScript, no build step, nothing fetched from the internet; it talks to the JSON API
// of mnist_lab/lab/app.py (GET /api/runs, POST /api/predict, GET /api/validation-digit).
"use strict";

const DEBOUNCE_MS = 150; // wait this long after the last stroke move before asking the server
const STROKE = 22; // pen width on the 280x280 pad: thick enough to survive the shrink to 28x28
const MAP_PIXELS = 2; // a 26x26 feature map is drawn 52 CSS pixels wide (smaller maps as wide)

const $ = (selector) => document.querySelector(selector);
const pad = $("#pad");
const ink = pad.getContext("2d");

const state = {
  runs: [], // from GET /api/runs
  strokes: [], // each a list of [x, y] in pad pixels; Undo drops the last one
  drawing: null, // the stroke under the pointer, while it is down
  shownDigit: null, // {pixels, label, index, split, run}: a validation image instead of a drawing
  timer: null, // the pending call of flush()
  dirty: false, // the drawing or the controls changed since the last request
  busy: false, // a request is in flight
  asked: 0, // requests sent; an answer to an older one than the latest is dropped
};

// --- the drawing pad -------------------------------------------------------------------------

function paint() {
  ink.fillStyle = "#000";
  ink.fillRect(0, 0, pad.width, pad.height);
  if (state.shownDigit) {
    drawGray(ink, state.shownDigit.pixels, pad.width);
  }
  ink.strokeStyle = "#fff";
  ink.fillStyle = "#fff";
  ink.lineWidth = STROKE;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  for (const stroke of state.strokes) {
    if (stroke.length === 1) {
      const [x, y] = stroke[0];
      ink.beginPath();
      ink.arc(x, y, STROKE / 2, 0, 2 * Math.PI);
      ink.fill();
      continue;
    }
    ink.beginPath();
    ink.moveTo(...stroke[0]);
    for (const point of stroke.slice(1)) ink.lineTo(...point);
    ink.stroke();
  }
}

function padPoint(event) {
  const box = pad.getBoundingClientRect(); // the pad may be shown smaller than 280x280
  return [
    ((event.clientX - box.left) * pad.width) / box.width,
    ((event.clientY - box.top) * pad.height) / box.height,
  ];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  try {
    pad.setPointerCapture(event.pointerId); // keep the stroke when the pen leaves the pad
  } catch (error) {
    // a pointer the browser no longer tracks: the stroke still draws while over the pad
  }
  state.shownDigit = null; // drawing replaces a validation digit
  state.drawing = [padPoint(event)];
  state.strokes.push(state.drawing);
  paint();
  ask();
});

pad.addEventListener("pointermove", (event) => {
  if (!state.drawing) return;
  const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const point of points.length ? points : [event]) state.drawing.push(padPoint(point));
  paint();
  ask();
});

function endStroke() {
  if (!state.drawing) return;
  state.drawing = null;
  ask();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("#clear").addEventListener("click", () => {
  state.strokes = [];
  state.shownDigit = null;
  paint();
  ask();
});

$("#undo").addEventListener("click", () => {
  if (state.strokes.length) state.strokes.pop();
  else state.shownDigit = null;
  paint();
  ask();
});

// Digits to try come from the run's validation images: looking at its mistakes there is error
// analysis that may guide a change; the test set is its final score and chooses nothing.
$("#validation-digit").addEventListener("click", async () => {
  const run = $("#run").value;
  const wrong = $("#wrong").checked ? 1 : 0;
  const url = `/api/validation-digit?run=${encodeURIComponent(run)}&wrong=${wrong}`;
  const answer = await call(url);
  if (!answer) return;
  state.strokes = [];
  state.shownDigit = { ...answer, run }; // another run's panel may have trained on it
  paint();
  ask();
});

// --- asking the server -----------------------------------------------------------------------

async function call(url, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    showError("The lab's server does not answer: is `mnist-lab lab` still running?");
    return null;
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch (error) {
    answer = null;
  }
  if (!response.ok) {
    showError((answer && answer.error) || `The server answered ${response.status}.`);
    return null;
  }
  return answer;
}

function showError(message) {
  $("#error").textContent = message;
}

function ask() {
  // At most one request in flight, and one every DEBOUNCE_MS while the pen moves: the answer
  // follows the drawing without queueing a request per mouse move.
  state.dirty = true;
  if (state.timer === null) state.timer = setTimeout(flush, DEBOUNCE_MS);
}

async function flush() {
  state.timer = null;
  if (state.busy) return; // the loop below sees `dirty` and asks again when the answer is in
  state.busy = true;
  try {
    while (state.dirty) {
      state.dirty = false;
      await predict();
    }
  } finally {
    state.busy = false;
  }
}

function chosenRuns() {
  const chosen = [{ run: $("#run").value, epoch: chosenEpoch() }];
  if ($("#compare-on").checked && $("#compare").value) {
    chosen.push({ run: $("#compare").value, epoch: null });
  }
  return chosen;
}

function chosenEpoch() {
  const run = runByName($("#run").value);
  const kept = (run && run.kept_epochs) || [];
  const position = Number($("#epoch").value);
  return position <= kept.length ? kept[position - 1] : null; // the last position: final
}

async function predict() {
  const asked = ++state.asked;
  const empty = !state.shownDigit && state.strokes.length === 0;
  const chosen = chosenRuns();
  syncPanels(chosen);
  if (empty || !chosen[0].run) {
    document.querySelectorAll(".panel").forEach(blankPanel);
    showError("");
    $("#hint").hidden = false;
    return;
  }
  $("#hint").hidden = true;
  const source = state.shownDigit
    ? { pixels: state.shownDigit.pixels }
    : { image: pad.toDataURL("image/png") };
  const answers = await Promise.all(
    chosen.map(({ run, epoch }) => {
      const body = { run, ...source };
      if (epoch !== null) body.epoch = epoch;
      return call("/api/predict", body);
    }),
  );
  if (asked !== state.asked) return; // a newer drawing is on its way
  const panels = document.querySelectorAll(".panel");
  answers.forEach((answer, i) => (answer ? showAnswer(panels[i], answer) : blankPanel(panels[i])));
  if (answers.every(Boolean)) showError("");
}

// --- the runs and the controls ---------------------------------------------------------------

function runByName(name) {
  return state.runs.find((run) => run.name === name);
}

function details(run) {
  // "reference, 98.9% test accuracy, 2026-11-30 10:59": what the pickers and panels say of a run
  const parts = [run.model || "unknown model"];
  if (typeof run.test_accuracy === "number") {
    parts.push(`${(100 * run.test_accuracy).toFixed(1)}% test accuracy`);
  }
  if (run.date) parts.push(String(run.date).slice(0, 16).replace("T", " "));
  return parts.join(", ");
}

function describe(run) {
  return `${run.name} (${details(run)})`;
}

function fillPicker(select, chosen) {
  select.replaceChildren(
    ...state.runs.map((run) => {
      const option = document.createElement("option");
      option.value = run.name;
      option.textContent = describe(run);
      return option;
    }),
  );
  if (chosen) select.value = chosen;
}

function updateEpochSlider() {
  const run = runByName($("#run").value);
  const kept = (run && run.kept_epochs) || [];
  const slider = $("#epoch");
  $("#epoch-box").hidden = kept.length === 0;
  slider.max = String(kept.length + 1); // one position per kept epoch, then the final weights
  slider.value = slider.max;
  labelEpoch();
}

function labelEpoch() {
  const epoch = chosenEpoch();
  const label = epoch === null ? "final" : `after epoch ${epoch}`;
  $("#epoch-label").textContent = label;
  $("#epoch").setAttribute("aria-valuetext", label);
}

$("#run").addEventListener("change", () => {
  updateEpochSlider();
  ask();
});
$("#compare-on").addEventListener("change", () => {
  $("#compare").disabled = !$("#compare-on").checked;
  ask();
});
$("#compare").addEventListener("change", ask);
$("#epoch").addEventListener("input", () => {
  labelEpoch();
  ask();
});

async function start() {
  paint();
  const runs = await call("/api/runs");
  if (!runs) return;
  state.runs = runs;
  if (!runs.length) {
    showError("There is no completed run to serve: train one with 'mnist-lab train reference'.");
    return;
  }
  fillPicker($("#run"), runs[0].name);
  fillPicker($("#compare"), (runs[1] || runs[0]).name);
  updateEpochSlider();
  ask();
}

// --- showing an answer -----------------------------------------------------------------------

function syncPanels(chosen) {
  const panels = $("#panels");
  while (panels.children.length < chosen.length) {
    const panel = $("#panel-template").content.firstElementChild.cloneNode(true);
    const bars = panel.querySelector(".bars");
    for (let digit = 0; digit < 10; digit++) {
      const row = document.createElement("div");
      row.className = "bar";
      row.setAttribute("role", "listitem");
      row.innerHTML =
        `<span class="bar-digit">${digit}</span>` +
        '<span class="bar-track"><span class="bar-fill"></span></span>' +
        '<span class="bar-value">&ndash;</span>';
      bars.append(row);
    }
    panels.append(panel);
  }
  while (panels.children.length > chosen.length) panels.lastElementChild.remove();
  chosen.forEach(({ run, epoch }, i) => {
    const panel = panels.children[i];
    const about = run ? details(runByName(run)) : "";
    panel.querySelector(".panel-title").textContent = run || "No run";
    panel.querySelector(".panel-about").textContent =
      epoch === null ? about : `${about}; the weights after epoch ${epoch}`;
  });
  panels.classList.toggle("two", chosen.length === 2);
}

function blankPanel(panel) {
  panel.classList.add("blank");
  panel.querySelector(".digit").textContent = "?";
  panel.querySelector(".confidence").textContent = "";
  panel.querySelectorAll(".bar").forEach((row) => {
    row.classList.remove("top");
    row.querySelector(".bar-fill").style.width = "0";
    row.querySelector(".bar-value").textContent = "–";
  });
}

function showAnswer(panel, answer) {
  panel.classList.remove("blank");
  panel.dataset.digit = answer.digit;
  panel.querySelector(".digit").textContent = answer.digit;
  const shown = state.shownDigit;
  const whose = shown && shown.run !== answer.run ? `${shown.run}'s` : "the";
  const label = shown ? ` (${whose} ${shown.split} image #${shown.index} is a ${shown.label})` : "";
  panel.querySelector(".confidence").textContent =
    `${(100 * answer.probability).toFixed(1)}% sure${label}`;
  panel.querySelectorAll(".bar").forEach((row, digit) => {
    const p = answer.probabilities[digit];
    row.classList.toggle("top", digit === answer.digit);
    row.querySelector(".bar-fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".bar-value").textContent = `${(100 * p).toFixed(1)}%`;
    row.setAttribute("aria-label", `${digit}: ${(100 * p).toFixed(1)}%`);
  });

  const input = panel.querySelector("canvas.input").getContext("2d");
  drawGray(input, answer.input, 28);
  drawSaliency(panel.querySelector("canvas.saliency").getContext("2d"), answer);
  // the gradient of the logit (the score before the softmax), or of the log-probability
  panel.querySelector(".saliency-of").textContent = answer.saliency_of || "logit";

  const filters = panel.querySelector(".filters");
  panel.querySelector(".filters-title").hidden = !answer.filters;
  if (answer.filters) {
    const kernels = answer.filters.kernels;
    const scale = Math.max(1e-12, ...kernels.flat(2).map(Math.abs));
    filters.replaceChildren(
      ...kernels.map((kernel, i) => tile(kernel, (v) => diverging(v / scale), 8, `filter ${i + 1}`)),
    );
  } else {
    filters.replaceChildren();
  }

  const layers = panel.querySelector(".layers");
  layers.replaceChildren();
  if (!answer.layers.length) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = `${answer.model} has no convolution layer: no feature maps or filters to show.`;
    layers.append(note);
  }
  for (const layer of answer.layers) {
    const [height, width, channels] = layer.shape;
    const heading = document.createElement("h3");
    const shown = layer.maps.length < channels ? `, the first ${layer.maps.length} shown` : "";
    heading.textContent = `Feature maps of ${layer.name} (${height}×${width}×${channels}${shown})`;
    const grid = document.createElement("div");
    grid.className = "maps grid";
    const size = Math.max(2, Math.round((26 * MAP_PIXELS) / height) * 1);
    grid.append(
      ...layer.maps.map((map, i) => {
        const top = Math.max(1e-12, ...map.flat());
        return tile(map, (v) => gray(v / top), size, `${layer.name} map ${i + 1}`);
      }),
    );
    layers.append(heading, grid);
  }
}

// --- pictures from numbers -------------------------------------------------------------------

function gray(v) {
  const level = Math.round(255 * Math.min(1, Math.max(0, v)));
  return [level, level, level];
}

function diverging(v) {
  // -1: blue, 0: white, +1: red
  const t = Math.min(1, Math.abs(v));
  const fade = Math.round(255 * (1 - t));
  return v >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

function imageOf(rows, color) {
  const height = rows.length;
  const width = rows[0].length;
  const image = new ImageData(width, height);
  rows.forEach((row, y) =>
    row.forEach((v, x) => {
      const [r, g, b] = color(v);
      image.data.set([r, g, b, 255], 4 * (y * width + x));
    }),
  );
  return image;
}

function tile(rows, color, pixels, label) {
  const canvas = document.createElement("canvas");
  canvas.width = rows[0].length;
  canvas.height = rows.length;
  canvas.className = "map";
  canvas.style.width = `${canvas.width * pixels}px`;
  canvas.style.height = `${canvas.height * pixels}px`;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  canvas.getContext("2d").putImageData(imageOf(rows, color), 0, 0);
  return canvas;
}

function drawGray(context, rows, side) {
  // 28x28 values in [0, 1] drawn white on black over a side x side canvas
  const small = document.createElement("canvas");
  small.width = rows[0].length;
  small.height = rows.length;
  small.getContext("2d").putImageData(imageOf(rows, gray), 0, 0);
  context.imageSmoothingEnabled = side !== rows.length && side > 28;
  context.drawImage(small, 0, 0, side, side);
}

function drawSaliency(context, answer) {
  // The input in dim gray, red where a pixel raises the digit's score, blue where it lowers it.
  const image = imageOf(answer.input, (v) => gray(0.35 * v));
  answer.saliency.forEach((row, y) =>
    row.forEach((s, x) => {
      const at = 4 * (y * 28 + x);
      const t = Math.min(1, Math.abs(s));
      const [r, g, b] = s >= 0 ? [255, 40, 40] : [60, 110, 255];
      const base = image.data.slice(at, at + 3);
      image.data.set(
        [base[0] + t * (r - base[0]), base[1] + t * (g - base[1]), base[2] + t * (b - base[2])],
        at,
      );
    }),
  );
  context.putImageData(image, 0, 0);
}

start();
