// One message through the SMTP relay with nodemailer's stock settings: STARTTLS required, the
// relay's CA trusted as its README says, the certificate verified (nodemailer's default).
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";

const settings = JSON.parse(process.argv[2]);
const transport = nodemailer.createTransport({
  host: settings.host,
  port: settings.port,
  secure: false,
  requireTLS: true,
  auth: { user: "app", pass: settings.key },
  tls: { ca: [readFileSync(settings.ca)] },
});
const info = await transport.sendMail({
  from: "News <news@acme.test>",
  to: "ann@example.com",
  subject: settings.subject,
  html: "<p>Sent by <b>nodemailer</b>.</p>",
});
console.log(info.response);
