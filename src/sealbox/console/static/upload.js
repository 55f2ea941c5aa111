// Uploads from the browser straight to sealbox: the console makes presigned
// URLs for the signed-in principal (api/uploads), and this sends the bytes.
// Files are read with File.slice, part by part, so a large file is never
// held in memory. Large files go as multipart uploads: PARALLEL parts at a
// time, each retried up to RETRIES times; Cancel stops every request and
// aborts the multipart uploads begun.
const PARALLEL = 4;
const RETRIES = 3;
const section = document.getElementById("upload");
const api = (name) => "/_sealbox/console/api/" + name;

function post(name, body) {
  return fetch(api(name), {
    method: "POST", credentials: "same-origin",
    headers: {"content-type": "application/json", "x-csrf-token": section.dataset.csrf},
    body: JSON.stringify(body),
  }).then(async (r) => {
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && (data.error.code + ": " + data.error.message)) || ("HTTP " + r.status));
    return data;
  });
}

// One PUT of a Blob with upload progress (fetch reports none); resolves to the ETag.
function put(url, blob, onProgress, active) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    active.add(xhr);
    xhr.open("PUT", url);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      active.delete(xhr);
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader("etag"));
      else {
        const code = /<Code>([^<]*)<\/Code>/.exec(xhr.responseText || "");
        const err = new Error((code ? code[1] : "HTTP") + " " + xhr.status);
        err.status = xhr.status;
        reject(err);
      }
    };
    xhr.onerror = () => { active.delete(xhr); reject(new Error("network error")); };
    xhr.onabort = () => { active.delete(xhr); reject(new Error("cancelled")); };
    xhr.send(blob);
  });
}

async function withRetries(job, state) {
  for (let attempt = 1; ; attempt++) {
    try { return await job(); }
    catch (e) {
      // A refusal (4xx) will not change on retry; a cancel must not retry.
      if (state.cancelled || (e.status && e.status < 500) || attempt > RETRIES) throw e;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

function row(file) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = file.name;  // text, never HTML
  const bar = document.createElement("progress");
  bar.max = Math.max(file.size, 1); bar.value = 0;
  bar.setAttribute("aria-label", "Progress of " + file.name);
  const state = document.createElement("span");
  state.textContent = "waiting";
  li.append(name, bar, state);
  document.getElementById("upload-list").append(li);
  return {bar, state};
}

async function uploadOne(file, ui, state, tick) {
  const bucket = section.dataset.bucket;
  const key = section.dataset.prefix + file.name;
  const plan = await post("uploads", {bucket, key, size: file.size, type: file.type});
  ui.state.textContent = "uploading";
  if (plan.url) {
    await withRetries(() => put(plan.url, file, (n) => { ui.bar.value = n; tick(); }, state.active), state);
    ui.bar.value = file.size; tick();
    return;
  }
  state.multipart.push({bucket, key, uploadId: plan.uploadId});
  const sent = new Array(plan.parts.length).fill(0);
  const etags = new Array(plan.parts.length);
  let next = 0;
  const worker = async () => {
    while (next < plan.parts.length && !state.cancelled) {
      const i = next++;
      const blob = file.slice(i * plan.partSize, Math.min(file.size, (i + 1) * plan.partSize));
      etags[i] = await withRetries(() => put(plan.parts[i], blob, (n) => {
        sent[i] = n; ui.bar.value = sent.reduce((a, b) => a + b, 0); tick();
      }, state.active), state);
      sent[i] = blob.size;
    }
  };
  await Promise.all(Array.from({length: Math.min(PARALLEL, plan.parts.length)}, worker));
  if (state.cancelled) throw new Error("cancelled");
  await post("uploads/complete", {bucket, key, uploadId: plan.uploadId, parts: etags});
  state.multipart = state.multipart.filter((m) => m.uploadId !== plan.uploadId);
}

async function uploadAll(files) {
  if (!files.length) return;
  const status = document.getElementById("upload-status");
  const cancel = document.getElementById("cancel-button");
  const overall = document.getElementById("overall-progress");
  const state = {cancelled: false, active: new Set(), multipart: []};
  const rows = files.map(row);
  const total = files.reduce((a, f) => a + f.size, 0) || 1;
  const tick = () => { overall.value = rows.reduce((a, r) => a + r.bar.value, 0) / total; };
  document.getElementById("overall").hidden = false;
  cancel.hidden = false;
  cancel.onclick = () => {
    state.cancelled = true;
    for (const xhr of state.active) xhr.abort();
    for (const m of state.multipart) post("uploads/abort", m).catch(() => {});
  };
  let failed = 0;
  for (let i = 0; i < files.length; i++) {
    if (state.cancelled) { rows[i].state.textContent = "cancelled"; continue; }
    try {
      await uploadOne(files[i], rows[i], state, tick);
      rows[i].state.textContent = "done";
    } catch (e) {
      failed++;
      rows[i].state.textContent = state.cancelled ? "cancelled" : "failed: " + e.message;
    }
  }
  cancel.hidden = true;
  status.textContent = state.cancelled ? "Cancelled." :
    failed ? failed + " of " + files.length + " failed." : "Uploaded " + files.length + " file(s).";
  // Show the new objects in the list, after the result had a moment on screen.
  if (!failed && !state.cancelled) setTimeout(() => location.reload(), 1500);
}

if (section) {
  const input = document.getElementById("files");
  document.getElementById("upload-button").addEventListener("click", () => uploadAll([...input.files]));
  section.addEventListener("dragover", (e) => { e.preventDefault(); section.classList.add("over"); });
  section.addEventListener("dragleave", () => section.classList.remove("over"));
  section.addEventListener("drop", (e) => {
    e.preventDefault(); section.classList.remove("over");
    uploadAll([...e.dataTransfer.files]);
  });
}
