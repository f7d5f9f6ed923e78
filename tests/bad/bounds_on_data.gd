param k = 1
data x in [0, 1], Y
model y = k*x
loss mean((y - Y)^2)
