param k = 1 in [1, 1]
data x, Y
model y = k*x
loss mean((y - Y)^2)
