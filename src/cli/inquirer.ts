// The three prompts l3ctl asks with, each from its own package: the
// @inquirer/prompts index brings every prompt, its editor prompt iconv-lite
// and chardet (~0.7 MB of the start-up snapshot, read and deserialised at
// every start), and the bundler cannot drop them from a lazily loaded module.
export { default as confirm } from '@inquirer/confirm';
export { default as input } from '@inquirer/input';
export { default as select } from '@inquirer/select';
