// Run one scenario with the AWS SDK for JavaScript v3 against a sealbox
// server, as an application would, and print what happened as JSON.
//
//   node s3.mjs <scenario> <bucket> <key> [file]
//
// Endpoint and credentials come from SEALBOX_ENDPOINT, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. The SDK's defaults are kept (checksums on:
// requestChecksumCalculation WHEN_SUPPORTED, CRC32), except for path-style
// addressing, which a server on 127.0.0.1 needs. Used by
// tests/integration/test_js_sdk.py.

import { createReadStream, readFileSync } from "node:fs";
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const [scenario, bucket, key, file] = process.argv.slice(2);

const sent = [];
const client = new S3Client({
  endpoint: process.env.SEALBOX_ENDPOINT,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
});
// Record the headers the SDK really sends (after signing).
client.middlewareStack.add(
  (next) => async (args) => {
    sent.push({ ...args.request.headers });
    return next(args);
  },
  { step: "finalizeRequest", priority: "low", name: "recordHeaders" },
);

async function readBody(body) {
  const bytes = await body.transformToByteArray();
  return Buffer.from(bytes);
}

async function describe() {
  const head = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
  );
  // GetObject with checksum mode makes the SDK validate the body against
  // the checksum the server returns.
  const got = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
  );
  const body = await readBody(got.Body);
  const { createHash } = await import("node:crypto");
  return {
    size: head.ContentLength,
    etag: head.ETag,
    checksumCRC32: head.ChecksumCRC32 ?? null,
    checksumCRC32C: head.ChecksumCRC32C ?? null,
    checksumSHA256: head.ChecksumSHA256 ?? null,
    checksumType: head.ChecksumType ?? null,
    contentEncoding: head.ContentEncoding ?? null,
    sha256: createHash("sha256").update(body).digest("hex"),
  };
}

const scenarios = {
  // A file stream: the SDK cannot hash it ahead, so it sends it aws-chunked
  // with the CRC32 in a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
  async "put-stream"() {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file) }),
    );
  },
  async "put-stream-crc32c"() {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket, Key: key, Body: createReadStream(file), ChecksumAlgorithm: "CRC32C",
      }),
    );
  },
  async "put-stream-sha256"() {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket, Key: key, Body: createReadStream(file), ChecksumAlgorithm: "SHA256",
      }),
    );
  },
  // A buffer: the checksum goes in an x-amz-checksum-crc32 header.
  async "put-buffer"() {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }),
    );
  },
  // lib-storage's multipart Upload of a stream, 5 MiB parts.
  async upload() {
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();
  },
  // A presigned PUT, then a plain fetch() with the bytes.
  async presigned() {
    const url = await getSignedUrl(
      client, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 },
    );
    const response = await fetch(url, { method: "PUT", body: readFileSync(file) });
    if (!response.ok) {
      throw new Error(`presigned PUT: ${response.status} ${await response.text()}`);
    }
    return { url };
  },
  // A presigned PUT signed for Content-Type text/plain, sent with another
  // one (image/png): the server refuses it; report the URL and the refusal
  // (the signature doctor's test, tests/integration/test_doctor.py).
  async "presigned-other-type"() {
    const url = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: "text/plain" }),
      { expiresIn: 300, signableHeaders: new Set(["content-type"]) },
    );
    const response = await fetch(url, {
      method: "PUT", body: readFileSync(file), headers: { "Content-Type": "image/png" },
    });
    return {
      url, status: response.status, requestId: response.headers.get("x-amz-request-id"),
      noDescribe: true,
    };
  },
};

try {
  const extra = (await scenarios[scenario]()) ?? {};
  const result = extra.noDescribe ? { ...extra, sent } : { ...extra, ...(await describe()), sent };
  process.stdout.write(JSON.stringify(result));
} catch (error) {
  process.stdout.write(
    JSON.stringify({ error: error.name, message: error.message, sent }),
  );
  process.exitCode = 1;
}
