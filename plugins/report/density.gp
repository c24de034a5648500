# nfsub report: density of daily usage over log10(bytes/day) (Figures 3, 4, 11).
# Variables: datafile (column 1 = log10 bin centre, then one column per
# series: density per decade; with show_raw another nseries columns of
# raw bins drawn thin in raw_colors[]), nseries, show_raw, titles[],
# colors[], raw_colors[], dashes[],
# plot_title, nthresholds, thresh_x[] (bytes/day), thresh_color[],
# thresh_label[].
load assets . "/common.gp"
set title plot_title
set logscale x 10
# a hair wider than 10KB..100GB so both end labels are drawn
set xrange [0.999e4:1.001e11]
eval "set xtics " . byte_tics
set mxtics 10
set xlabel "Daily usage per user (bytes/day, log scale)"
set ylabel "Probability density (per decade)"
set yrange [0:*]
set format y "%.2f"
set key top left
do for [i=1:nthresholds] {
    set arrow i from thresh_x[i], graph 0 to thresh_x[i], graph 1 nohead \
        lw 1.5 dt (6,4) lc rgb thresh_color[i] front
    set label i thresh_label[i] at thresh_x[i], graph 0.5 rotate by 90 \
        offset (i % 2 ? -0.7 : 0.9),0 center font ",9" textcolor rgb thresh_color[i] front
}
if (show_raw) {
    plot for [i=1:nseries] datafile using (10**$1):(column(nseries+i+1)) \
             with histeps lw 0.8 lc rgb raw_colors[i] notitle, \
         for [i=1:nseries] datafile using (10**$1):(column(i+1)) with lines \
             lw 2.2 dt dashes[i] lc rgb colors[i] title titles[i]
} else {
    plot for [i=1:nseries] datafile using (10**$1):(column(i+1)) with lines \
         lw 2.2 dt dashes[i] lc rgb colors[i] title titles[i]
}
