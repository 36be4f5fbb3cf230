# Draws recall-latency.png from recall-latency.dat: cd here, then gnuplot recall-latency.gp
set terminal pngcairo size 1000,650 noenhanced
set output 'recall-latency.png'
set title 'recall@10 vs mean query latency, 200 queries'
set xlabel 'recall@10'
set ylabel 'mean query latency (ms)'
set logscale y
set grid
set key outside right
set xrange [*:1.02]
plot 'recall-latency.dat' index 0 using 1:2 with linespoints lt 1 pt 1 title 'flat', \
     'recall-latency.dat' index 1 using 1:2 with linespoints lt 2 pt 2 title 'ivf-float', \
     '' index 1 using 1:2:3 with labels offset 0,0.8 tc lt 2 notitle, \
     'recall-latency.dat' index 2 using 1:2 with linespoints lt 3 pt 3 title 'int8-builtin', \
     '' index 2 using 1:2:3 with labels offset 0,0.8 tc lt 3 notitle, \
     'recall-latency.dat' index 3 using 1:2 with linespoints lt 4 pt 4 title 'int8-ivftrain-bulk', \
     '' index 3 using 1:2:3 with labels offset 0,0.8 tc lt 4 notitle, \
     'recall-latency.dat' index 4 using 1:2 with linespoints lt 5 pt 5 title 'int8-ivftrain-cf', \
     '' index 4 using 1:2:3 with labels offset 0,0.8 tc lt 5 notitle, \
     'recall-latency.dat' index 5 using 1:2 with linespoints lt 6 pt 6 title 'binary-builtin', \
     '' index 5 using 1:2:3 with labels offset 0,0.8 tc lt 6 notitle, \
     'recall-latency.dat' index 6 using 1:2 with linespoints lt 7 pt 7 title 'binary-ivftrain-bulk', \
     '' index 6 using 1:2:3 with labels offset 0,0.8 tc lt 7 notitle
