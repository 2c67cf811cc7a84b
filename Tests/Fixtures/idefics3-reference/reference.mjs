// Runs transformers.js's own Idefics3Processor (npm @huggingface/transformers, no weights needed) on images of many
// sizes and aspect ratios and writes what it produced as goldens for Tests/Vlm/Idefics3ReferenceTests.cs:
// pixel_values / pixel_attention_mask shapes, the tile grid (rows, cols), per tile and channel means, sampled values,
// a sha256 of the float32 pixel values, and the expanded prompt's token ids (run-length encoded).
//
//   cd Tests/Fixtures/idefics3-reference && npm install && \
//     node reference.mjs --fixture ../../../artifacts/fixtures/idefics3-layout --images ../../../models/shapes-vlm/goldens --out goldens.json
//
// Two processor configurations: "smolvlm-256m" is HuggingFaceTB/SmolVLM-256M-Instruct's preprocessor_config.json and
// processor_config.json (512 px tiles, longest edge 2048, Lanczos, mean/std 0.5, 64 tokens per tile); "fixture" is the
// idefics3-layout fixture's own (Tests/Fixtures/make_idefics3_layout.py). The tokenizer is the fixture's (the bundled
// shapes tokenizer plus SmolVLM's special tokens), since no real SmolVLM tokenizer is available offline.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AutoProcessor, RawImage, env } from '@huggingface/transformers';

const args = Object.fromEntries(
    process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
for (const k of ['fixture', 'images', 'out']) if (!args[k]) throw new Error(`--${k} is required`);

const SMOLVLM_256M = {
    preprocessor: {
        do_convert_rgb: true,
        do_image_splitting: true,
        do_normalize: true,
        do_pad: true,
        do_rescale: true,
        do_resize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_processor_type: 'Idefics3ImageProcessor',
        image_std: [0.5, 0.5, 0.5],
        max_image_size: { longest_edge: 512 },
        processor_class: 'Idefics3Processor',
        resample: 1,
        rescale_factor: 0.00392156862745098,
        size: { longest_edge: 2048 },
    },
    processor: { image_seq_len: 64, processor_class: 'Idefics3Processor' },
};

const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const configs = {
    'smolvlm-256m': SMOLVLM_256M,
    fixture: {
        preprocessor: readJson(path.join(args.fixture, 'preprocessor_config.json')),
        processor: readJson(path.join(args.fixture, 'processor_config.json')),
    },
};

// One local "model" folder per configuration: the fixture's tokenizer and config.json with that processor config.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'idefics3-ref-'));
for (const [name, c] of Object.entries(configs)) {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'config.json'])
        fs.copyFileSync(path.join(args.fixture, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify(c.preprocessor));
    fs.writeFileSync(path.join(dir, 'processor_config.json'), JSON.stringify(c.processor));
}
env.localModelPath = root;
env.allowRemoteModels = false;

// The synthetic test image; Tests/Vlm/Idefics3ReferenceTests.cs draws the same pixels.
function pattern(width, height) {
    const data = new Uint8ClampedArray(width * height * 3);
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            const i = (y * width + x) * 3;
            data[i] = Math.floor((x * 255) / Math.max(width - 1, 1));
            data[i + 1] = Math.floor((y * 255) / Math.max(height - 1, 1));
            data[i + 2] = ((x >> 3) + (y >> 3)) & 1 ? 220 : 30;
        }
    }
    return new RawImage(data, width, height, 3);
}

async function load(spec) {
    if (spec.kind === 'pattern') return pattern(spec.width, spec.height);
    const image = await RawImage.read(path.join(args.images, spec.file));
    return image.rgb();
}

const PROMPT_ONE = '<|im_start|>user\n<image>\nwhat is in the image?<|im_end|>\n<|im_start|>assistant\n';
const PROMPT_TWO = '<|im_start|>user\n<image>\n<image>\ncompare the images.<|im_end|>\n<|im_start|>assistant\n';
const P = (width, height) => ({ kind: 'pattern', width, height });
const cases = [
    { name: 'square-2048-no-resize', config: 'smolvlm-256m', images: [P(2048, 2048)] },
    { name: 'landscape-2048x1536-no-resize', config: 'smolvlm-256m', images: [P(2048, 1536)] },
    { name: 'portrait-1000x2048-no-resize', config: 'smolvlm-256m', images: [P(1000, 2048)] },
    { name: 'vga-640x480-upscaled', config: 'smolvlm-256m', images: [P(640, 480)] },
    { name: 'tall-300x1200', config: 'smolvlm-256m', images: [P(300, 1200)] },
    { name: 'hd-1920x1080', config: 'smolvlm-256m', images: [P(1920, 1080)] },
    { name: 'tiny-odd-100x37', config: 'smolvlm-256m', images: [P(100, 37)] },
    { name: 'square-512', config: 'smolvlm-256m', images: [P(512, 512)] },
    { name: 'panorama-3000x500', config: 'smolvlm-256m', images: [P(3000, 500)] },
    { name: 'photo-4000x3000-downscaled', config: 'smolvlm-256m', images: [P(4000, 3000)] },
    { name: 'vga-no-splitting', config: 'smolvlm-256m', images: [P(640, 480)], do_image_splitting: false },
    { name: 'two-images', config: 'smolvlm-256m', images: [P(640, 480), P(300, 1200)], prompt: PROMPT_TWO },
    { name: 'fixture-png-224', config: 'fixture', images: [{ kind: 'png', file: 'g1_red_circle_caption.png' }] },
    { name: 'fixture-png-448x336-no-resize', config: 'fixture', images: [{ kind: 'png', file: 'g7_non_square.png' }] },
    { name: 'fixture-png-64-no-splitting', config: 'fixture', images: [{ kind: 'png', file: 'g5_count_64px.png' }], do_image_splitting: false },
];

function lcg(seed) {
    let s = seed >>> 0;
    return () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s;
    };
}

function runLength(ids) {
    const out = [];
    for (const id of ids) {
        if (out.length && out[out.length - 1][0] === id) out[out.length - 1][1]++;
        else out.push([id, 1]);
    }
    return out;
}

const processors = {};
const results = [];
for (const c of cases) {
    processors[c.config] ??= await AutoProcessor.from_pretrained(c.config);
    const processor = processors[c.config];
    const images = await Promise.all(c.images.map(load));
    const options = c.do_image_splitting === undefined ? {} : { do_image_splitting: c.do_image_splitting };
    const out = await processor(c.prompt ?? PROMPT_ONE, images, options);
    const pv = out.pixel_values;
    const [, n, ch, h, w] = pv.dims;
    const data = pv.data;
    const plane = h * w;
    const means = [];
    const samples = [];
    const next = lcg(results.length + 1);
    for (let t = 0; t < n; t++) {
        const tile = [];
        for (let k = 0; k < ch; k++) {
            let sum = 0;
            const base = (t * ch + k) * plane;
            for (let i = 0; i < plane; i++) sum += data[base + i];
            tile.push(sum / plane);
        }
        means.push(tile);
        for (let s = 0; s < 16; s++) {
            const index = t * ch * plane + (next() % (ch * plane));
            samples.push([index, data[index]]);
        }
    }
    const mask = out.pixel_attention_mask;
    let maskTrue = 0;
    for (const v of mask.data) if (v) maskTrue++;
    const ids = Array.from(out.input_ids.data, Number);
    results.push({
        name: c.name,
        config: c.config,
        do_image_splitting: c.do_image_splitting ?? null,
        prompt: c.prompt ?? PROMPT_ONE,
        images: c.images,
        pixel_values_dims: pv.dims,
        pixel_attention_mask_dims: mask.dims,
        pixel_attention_mask_true: maskTrue,
        rows: out.rows[0],
        cols: out.cols[0],
        tile_channel_means: means,
        samples,
        pixel_values_sha256: createHash('sha256').update(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest('hex'),
        input_ids_rle: runLength(ids),
    });
    console.log(`${c.name}: pixel_values [${pv.dims}] rows ${out.rows[0]} cols ${out.cols[0]} ids ${ids.length}`);
}

const pkg = readJson(new URL('./node_modules/@huggingface/transformers/package.json', import.meta.url));
// Compact: one case a line (the file stays small enough to review in a diff).
const header = {
    generator: `Tests/Fixtures/idefics3-reference/reference.mjs with @huggingface/transformers ${pkg.version} on node ${process.version}`,
    configs,
};
fs.writeFileSync(
    args.out,
    JSON.stringify(header, null, 1).replace(/\n}$/, ',\n "cases": [\n') + results.map((r) => JSON.stringify(r)).join(',\n') + '\n ]\n}\n',
);
fs.rmSync(root, { recursive: true, force: true });
