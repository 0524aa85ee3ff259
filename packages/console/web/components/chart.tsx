// A small uPlot time series. uPlot draws on a canvas; the caller shows the latest values as text too,
// since a canvas says nothing to a screen reader.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Columns } from '../metrics/overview.ts';

export interface SeriesSpec {
  label: string;
  stroke: string;
}

const HEIGHT = 150;

export function TimeSeriesChart({ label, series, columns }: { label: string; series: SeriesSpec[]; columns: Columns }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const element = host.current!;
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: HEIGHT,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
        axes: [{}, { size: 56 }],
        scales: {
          x: {
            time: true,
            // With one sample uPlot would stretch the axis over years; a minute either side reads right.
            range: (_u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]),
          },
        },
      },
      columns as uPlot.AlignedData,
      element,
    );
    plot.current = chart;
    // The host's width comes from the layout, not from the chart, so resizing cannot feed back into itself.
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, []);
  useEffect(() => plot.current?.setData(columns as uPlot.AlignedData), [columns]);
  return <div class="chart" ref={host} role="img" aria-label={label} />;
}
