# nfsub report: monthly average traffic normalised to a base month
# (Figure 1).  Variables: datafile (column 1 = month "YYYY-MM", then one
# column per series), nseries, titles[], colors[], dashes[], points[],
# plot_title, base_label.
load assets . "/common.gp"
set title plot_title
set xdata time
set timefmt "%Y-%m"
set format x "%Y-%m"
set xtics rotate by -30 left
set xlabel "Month"
set ylabel "Average traffic, " . base_label . " OUT = 1"
set yrange [0:*]
set key top left
plot for [i=1:nseries] datafile using 1:(column(i+1)) with linespoints \
     lw 2 dt dashes[i] pt points[i] ps 0.6 lc rgb colors[i] title titles[i]
