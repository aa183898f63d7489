// The official Resend Node SDK, unchanged, pointed at AutoRelay by RESEND_BASE_URL (the SDK reads it).
// Prints one JSON document of what each call returned, for tests/e2e/test_resend_node.py to check.
import { Resend } from "resend";

const resend = new Resend(process.env.RESEND_TEST_KEY);
const sender = "Acme <news@acme.test>";
const out = {};

out.html = await resend.emails.send({
  from: sender,
  to: ["node@example.com"],
  subject: "From the Node SDK",
  html: "<p>Hello from <b>Node</b></p>",
  tags: [{ name: "category", value: "node" }],
  attachments: [{ filename: "node.txt", content: Buffer.from("node attachment").toString("base64") }],
});
out.text = await resend.emails.send({ from: sender, to: "plain@example.com", subject: "Node plain", text: "Just text" });
out.batch = await resend.batch.send(
  [0, 1, 2].map((i) => ({ from: sender, to: `nb${i}@example.com`, subject: `Node batch ${i}`, html: `<p>${i}</p>` })),
);
out.inline = await resend.emails.send({
  from: sender,
  to: "pic@example.com",
  subject: "Node inline",
  html: '<p><img src="cid:logo-node"></p>',
  attachments: [{ filename: "logo.png", content: Buffer.from("not really a png"), contentType: "image/png", contentId: "logo-node" }],
});
out.permissive = await resend.batch.send(
  [
    { from: sender, to: "np1@example.com", subject: "ok", html: "<p>1</p>" },
    { from: sender, to: "not-an-address", subject: "bad", html: "<p>2</p>" },
  ],
  { batchValidation: "permissive" },
);
out.get = await resend.emails.get(out.html.data.id);
out.list = await resend.emails.list({ limit: 5 });
out.invalid = await resend.emails.send({ from: sender, to: "not-an-address", subject: "x", html: "<p>x</p>" });
console.log(JSON.stringify(out));
