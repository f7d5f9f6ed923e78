# Students' weight on height, the seed example: a straight line fitted by least squares.
#
# x is a student's height and Y their weight; the line y = m*x + b is fitted by making
# the mean squared residual (y - Y)^2 as small as possible. By the naming rule x and Y
# are data, m and b the parameters. The class data are in examples/students.csv:
#
#   gdc derive examples/linear.gd
#   gdc fit examples/linear.gd examples/students.csv --map x=height,Y=weight
model y = m*x + b
loss mean((y - Y)^2)
