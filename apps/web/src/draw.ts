/** The drawing canvas (mouse, pen, touch) and its conversion to an MNIST-like 28×28 digit. */

const SIZE = 28;
/** MNIST digits fit a 20×20 box, centred by their centre of mass in the 28×28 frame */
const BOX = 20;

export interface DrawPad {
  clear(): void;
  /** paints a 28×28 digit ([0, 1]) onto the pad, scaled up */
  show(pixels: Float32Array): void;
  /** the drawing as an MNIST-like 28×28 digit in [0, 1] (all zero when empty) */
  read(): Float32Array;
}

/**
 * Makes `canvas` a drawing pad: white strokes on black. `onStroke(final)` runs while drawing (final = false,
 * at most every `throttleMs`) and when a stroke ends (final = true).
 */
export function drawPad(canvas: HTMLCanvasElement, onStroke: (final: boolean) => void, throttleMs = 150): DrawPad {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let drawing = false;
  let last: [number, number] | null = null;
  let lastCall = 0;
  const point = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
  };
  const line = (a: [number, number], b: [number, number]) => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  };
  canvas.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    canvas.setPointerCapture?.(e.pointerId);
    drawing = true;
    last = point(e);
    line(last, last);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing || !last) return;
    e.preventDefault();
    const p = point(e);
    line(last, p);
    last = p;
    const now = performance.now();
    if (now - lastCall > throttleMs) {
      lastCall = now;
      onStroke(false);
    }
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    onStroke(true);
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.style.touchAction = 'none';

  return {
    clear,
    show(pixels) {
      const small = document.createElement('canvas');
      small.width = SIZE;
      small.height = SIZE;
      paint(small, pixels);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    },
    read() {
      const { width, height } = canvas;
      const rgba = ctx.getImageData(0, 0, width, height).data;
      const grey = new Float32Array(width * height);
      for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i] / 255;
      return toMnist(grey, width, height);
    },
  };
}

/** Crops the ink, fits it into a 20×20 box (area averaging) and centres its centre of mass in 28×28. */
export function toMnist(grey: Float32Array, width: number, height: number): Float32Array {
  let x0 = width,
    y0 = height,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x] > 0.05) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const out = new Float32Array(SIZE * SIZE);
  if (x1 < 0) return out;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const scale = BOX / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  // area averaging: target pixel (ty, tx) covers source [y0 + ty/scale, y0 + (ty+1)/scale)
  const box = new Float32Array(tw * th);
  for (let ty = 0; ty < th; ty++) {
    const sy0 = y0 + Math.floor(ty / scale);
    const sy1 = Math.min(y1 + 1, Math.max(sy0 + 1, y0 + Math.floor((ty + 1) / scale)));
    for (let tx = 0; tx < tw; tx++) {
      const sx0 = x0 + Math.floor(tx / scale);
      const sx1 = Math.min(x1 + 1, Math.max(sx0 + 1, x0 + Math.floor((tx + 1) / scale)));
      let sum = 0;
      for (let y = sy0; y < sy1; y++) for (let x = sx0; x < sx1; x++) sum += grey[y * width + x];
      box[ty * tw + tx] = sum / ((sy1 - sy0) * (sx1 - sx0));
    }
  }
  let mass = 0,
    cy = 0,
    cx = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = box[y * tw + x];
      mass += v;
      cy += v * y;
      cx += v * x;
    }
  }
  const oy = Math.min(SIZE - th, Math.max(0, Math.round((SIZE - 1) / 2 - cy / mass)));
  const ox = Math.min(SIZE - tw, Math.max(0, Math.round((SIZE - 1) / 2 - cx / mass)));
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++) out[(y + oy) * SIZE + x + ox] = Math.min(1, box[y * tw + x]);
  return out;
}

/** Paints a 28×28 image in [0, 1] onto a 28×28 canvas (grey levels). */
export function paint(canvas: HTMLCanvasElement, pixels: Float32Array): void {
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const v = Math.round(Math.max(0, Math.min(1, pixels[i])) * 255);
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
