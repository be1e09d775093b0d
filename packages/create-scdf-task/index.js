#!/usr/bin/env node
// `npm init scdf-task` runs the package named create-scdf-task; the generator and its bin live in
// generator-scdf-task, so this package only forwards to that bin.
import 'generator-scdf-task/lib/bin/create-scdf-task.js';
