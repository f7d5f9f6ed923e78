# no start, and 0 lies outside the bounds
param k in (0, inf)
data x, Y
model y = k*x
loss mean((y - Y)^2)
