# a start outside the bounds, with its position
param k = 2 in (0, 1)
data x, Y
model y = k*x
loss mean((y - Y)^2)
