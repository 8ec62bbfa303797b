// Resumable uploads over tus 1.0 (POST /api/v1/media/uploads, then PATCH chunks): progress as
// the bytes leave, retries after a dropped connection from where the server says it got to
// (HEAD), and, after a reload, the same file picks up where it stopped (its upload address is
// kept in sessionStorage under the file's name, size and modification time).
import { ApiError, api, t } from "./core.js";

const ENDPOINT = "/api/v1/media/uploads";
const TUS = { "Tus-Resumable": "1.0.0" };
export const CHUNK_BYTES = 5 * 1024 * 1024;
const RETRY_DELAYS_MS = [1000, 3000, 6000, 10000];

function csrf() {
  const found = document.cookie.split("; ").find((part) => part.startsWith("camtel_csrf="));
  return found ? decodeURIComponent(found.slice("camtel_csrf=".length)) : "";
}

function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function storageKey(file) {
  return `camtel-upload:${file.name}:${file.size}:${file.lastModified}`;
}

function remembered(file) {
  try { return sessionStorage.getItem(storageKey(file)); } catch { return null; }
}

function remember(file, url) {
  try {
    if (url) sessionStorage.setItem(storageKey(file), url);
    else sessionStorage.removeItem(storageKey(file));
  } catch { /* storage refused (private mode): no resuming after a reload */ }
}

/** Whether an earlier upload of this very file can be continued. */
export function canResume(file) {
  return Boolean(remembered(file));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Aborted extends Error {}

/** One file going up. `onProgress(sentBytes, totalBytes)`; `start()` resolves to the new
 * recording's id. */
export class Upload {
  constructor(file, { deviceId = "", onProgress = () => {}, onRetry = () => {}, chunkBytes = CHUNK_BYTES } = {}) {
    this.file = file;
    this.deviceId = deviceId;
    this.onProgress = onProgress;
    this.onRetry = onRetry;
    this.chunkBytes = chunkBytes;
    this.url = null;
    this.offset = 0;
    this.mediaId = null;
    this.xhr = null;
    this.aborted = false;
  }

  async start() {
    this.url = remembered(this.file);
    if (this.url && !(await this.ask())) this.url = null; // expired or finished meanwhile
    if (this.mediaId) return this.finish();
    if (!this.url) await this.create();
    let failures = 0;
    while (this.offset < this.file.size) {
      try {
        await this.send();
        failures = 0;
      } catch (error) {
        if (this.aborted || error instanceof Aborted) throw new Aborted(t("Upload cancelled."));
        if (error instanceof ApiError && error.status !== 409 && error.status < 500) throw error;
        if (failures >= RETRY_DELAYS_MS.length) throw error;
        this.onRetry(failures + 1);
        await sleep(RETRY_DELAYS_MS[failures]);
        failures += 1;
        // Ask the server how far it got before sending again.
        if (!(await this.ask().catch(() => false))) throw error;
      }
      if (this.mediaId) break;
    }
    return this.finish();
  }

  finish() {
    remember(this.file, null);
    this.onProgress(this.file.size, this.file.size);
    return this.mediaId;
  }

  async create() {
    const metadata = [["filename", this.file.name], ["filetype", this.file.type || "application/octet-stream"]];
    if (this.deviceId) metadata.push(["device_id", this.deviceId]);
    const answer = await api(ENDPOINT, {
      method: "POST",
      raw: true,
      headers: {
        ...TUS,
        "Upload-Length": String(this.file.size),
        "Upload-Metadata": metadata.map(([key, value]) => `${key} ${base64(value)}`).join(","),
      },
    });
    this.url = new URL(answer.headers.get("Location"), location.origin).pathname;
    this.offset = 0;
    remember(this.file, this.url);
  }

  /** HEAD: how much the server holds (true), or false when the upload is gone. */
  async ask() {
    try {
      const answer = await api(this.url, { method: "HEAD", raw: true, headers: TUS });
      this.offset = Number(answer.headers.get("Upload-Offset") || 0);
      this.mediaId = answer.headers.get("Camtel-Media-Id");
      this.onProgress(this.offset, this.file.size);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        remember(this.file, null);
        return false;
      }
      throw error;
    }
  }

  /** PATCH the next chunk (XMLHttpRequest: fetch tells nothing while a body goes up). */
  send() {
    const start = this.offset;
    const chunk = this.file.slice(start, Math.min(this.file.size, start + this.chunkBytes));
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("PATCH", this.url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("Upload-Offset", String(start));
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = (event) => this.onProgress(start + event.loaded, this.file.size);
      xhr.onload = () => {
        this.xhr = null;
        if (xhr.status === 204) {
          this.offset = Number(xhr.getResponseHeader("Upload-Offset") || start + chunk.size);
          this.mediaId = xhr.getResponseHeader("Camtel-Media-Id");
          this.onProgress(this.offset, this.file.size);
          resolve();
          return;
        }
        let problem = null;
        try { problem = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        reject(new ApiError(xhr.status, problem));
      };
      xhr.onerror = () => { this.xhr = null; reject(new Error(t("The connection was interrupted."))); };
      xhr.onabort = () => { this.xhr = null; reject(new Aborted()); };
      xhr.send(chunk);
    });
  }

  /** Stop sending and drop what the server holds of this upload. */
  async cancel() {
    this.aborted = true;
    if (this.xhr) this.xhr.abort();
    remember(this.file, null);
    if (this.url && !this.mediaId) {
      await api(this.url, { method: "DELETE", raw: true, headers: TUS }).catch(() => {});
    }
  }
}

export { Aborted };
