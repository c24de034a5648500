# nfsub report: IN vs OUT daily usage of a random sample of users
# (Figures 5, 6).  Variables: datafile (columns: IN, OUT bytes/day),
# plot_title, point_color, sample_label.
width = 720
height = 680
load assets . "/common.gp"
set title plot_title
set logscale xy 10
# a hair wider than 10KB..100GB so both end labels are drawn
set xrange [0.999e4:1.001e11]
set yrange [0.999e4:1.001e11]
eval "set xtics " . byte_tics
eval "set ytics " . byte_tics
set size ratio -1
set xlabel "IN (upload), bytes/day"
set ylabel "OUT (download), bytes/day"
set key bottom right
plot datafile using 1:2 with points pt 7 ps 0.35 lc rgb point_color \
         title sample_label, \
     x with lines lw 1.5 dt (8,4) lc rgb "#303030" title "IN = OUT"
