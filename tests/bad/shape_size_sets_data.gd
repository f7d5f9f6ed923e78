size d = 8
data x[d], Y
param w[d]
model y = dot(w, x)
loss mean((y - Y)^2)
