param k = 1 in [inf, 2]
data x, Y
model y = k*x
loss mean((y - Y)^2)
