// Placeholder until this page is built.
import { $, el, replace } from "./dom.js";

replace($("#app"), el("p", { text: "This page is not available yet." }));
